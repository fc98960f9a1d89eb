// What a `run` step costs beyond its command, step by step, with cold boots (--warm=off) and
// with warm starts (resuming the parent's saved VM state), in the same run; and the disk the
// saved states take. `node bench/step-overhead.mjs [STEPS]` (default 10). Needs `pnpm build`
// and the test image (`node test/support/base-image.mjs`). Takes minutes under TCG.
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runBuild } from "../packages/builder/dist/index.js";
import { spec } from "../packages/spec-parser/dist/index.js";
import { openStore } from "../packages/store/dist/index.js";
import { imageDir } from "./vm-support.mjs";

const STEPS = Number(process.argv[2] ?? 10);

function freshStore() {
  const root = mkdtempSync(join(tmpdir(), "strata-bench-steps-"));
  mkdirSync(join(root, "base-image"));
  for (const f of readdirSync(imageDir()))
    if (f.startsWith("debian-bookworm."))
      linkSync(join(imageDir(), f), join(root, "base-image", f));
  return root;
}

async function measure(warm) {
  const root = freshStore();
  const store = await openStore({ root });
  try {
    let b = spec().from("debian-bookworm").env("RUN", `${warm}-${Date.now()}`);
    for (let i = 0; i < STEPS; i++) b = b.run(`echo step ${i}`);
    const times = [];
    let stepStart = 0;
    const t0 = Date.now();
    await runBuild({
      store,
      spec: b.build(),
      contextDir: root,
      warm,
      onEvent: (e) => {
        if (e.type === "step" && e.op.startsWith("(run")) stepStart = Date.now();
        if (e.type === "saved" && stepStart) times.push((Date.now() - stepStart) / 1000);
      },
    });
    const total = (Date.now() - t0) / 1000;
    let stateBytes = 0;
    for (const id of readdirSync(join(root, "result"))) {
      try {
        stateBytes += statSync(join(root, "result", id, "vmstate.zst")).size;
      } catch {}
    }
    return { times, total, stateBytes };
  } finally {
    store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const cold = await measure("off");
const warm = await measure("auto");
const fmt = (xs) => xs.map((x) => x.toFixed(1).padStart(6)).join("");
console.log(`per-step time of a ${STEPS}-step build of trivial commands (s), step by step:`);
console.log(`  cold (--warm=off) ${fmt(cold.times)}   total ${cold.total.toFixed(1)} s`);
console.log(`  warm (--warm=auto)${fmt(warm.times)}   total ${warm.total.toFixed(1)} s`);
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `  mean overhead: cold ${avg(cold.times).toFixed(1)} s, warm after the first ${avg(warm.times.slice(1)).toFixed(1)} s`,
);
console.log(
  `  disk used by saved states: ${(warm.stateBytes / 2 ** 20).toFixed(0)} MiB (${(warm.stateBytes / 2 ** 20 / STEPS).toFixed(0)} MiB a layer)`,
);
