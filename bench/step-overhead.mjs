// What a `run` step costs beyond its command, in the same run: booted (--warm=off), continued
// (the stage's VM kept running, each layer cut by a live snapshot), resumed (a later build's
// step from the parent's saved state); a 1-step spec beside the N-step one; and the disk the
// saved states take. `node bench/step-overhead.mjs [STEPS]` (default 10). Needs `pnpm build`
// and the test image (`node test/support/base-image.mjs`). Takes minutes under TCG.
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { runBuild } from "../packages/builder/dist/index.js";
import { spec } from "../packages/spec-parser/dist/index.js";
import { openStore } from "../packages/store/dist/index.js";
import { freshStore } from "./vm-support.mjs";

const STEPS = Number(process.argv[2] ?? 10);

/** Builds `steps` trivial run steps (plus `extra` after them) into `root`; per-step times and how each VM started. */
async function build(root, { warm, steps, tag, extra = [], warmKeep }) {
  const store = await openStore({ root });
  try {
    let b = spec().from("debian-bookworm").env("RUN", tag);
    for (let i = 0; i < steps; i++) b = b.run(`echo step ${i}`);
    for (const cmd of extra) b = b.run(cmd);
    const times = [];
    const starts = [];
    const vm = [];
    let stepStart = 0;
    const t0 = Date.now();
    await runBuild({
      store,
      spec: b.build(),
      contextDir: root,
      warm,
      warmKeep,
      onEvent: (e) => {
        if (e.type === "step" && e.op.startsWith("(run")) stepStart = Date.now();
        if (e.type === "vm") vm.push(e);
        if (e.type === "saved" && stepStart) {
          times.push((Date.now() - stepStart) / 1000);
          starts.push(vm.at(-1)?.how ?? "?");
        }
      },
    });
    return { times, starts, vm, total: (Date.now() - t0) / 1000 };
  } finally {
    store.close();
  }
}

function stateBytes(root) {
  let bytes = 0;
  for (const id of readdirSync(join(root, "result"))) {
    try {
      bytes += statSync(join(root, "result", id, "vmstate.zst")).size;
    } catch {}
  }
  return bytes;
}

async function inFreshStore(fn) {
  const root = freshStore("strata-bench-steps-");
  try {
    return await fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const tag = () => `${Date.now()}`;
// The figures depend on the machine's load: say what it was (1, 5, 15-minute averages).
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const loadBefore = load();
const cold = await inFreshStore((root) => build(root, { warm: "off", steps: STEPS, tag: tag() }));
const warm = await inFreshStore(async (root) => {
  const t = tag();
  const first = await build(root, { warm: "auto", steps: STEPS, tag: t });
  const bytes = stateBytes(root);
  // Resumed: a later build adds one step after the cached ones; it resumes the last state.
  const resumed = [];
  for (let i = 0; i < 3; i++)
    resumed.push(
      (
        await build(root, { warm: "auto", steps: STEPS, tag: t, extra: [`echo extra ${i}`] })
      ).times.at(-1),
    );
  return { ...first, bytes, resumed };
});
const one = await inFreshStore((root) => build(root, { warm: "auto", steps: 1, tag: tag() }));
// Continued without saving any state (warmKeep 0): the floor once memory is not kept.
const bare = await inFreshStore((root) =>
  build(root, { warm: "auto", steps: STEPS, tag: tag(), warmKeep: 0 }),
);

const fmt = (xs) => xs.map((x) => x.toFixed(1).padStart(6)).join("");
const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`per-step time of a ${STEPS}-step build of trivial commands (s), step by step:`);
console.log(`  booted    (--warm=off) ${fmt(cold.times)}   total ${cold.total.toFixed(1)} s`);
console.log(`  continued (--warm=auto)${fmt(warm.times)}   total ${warm.total.toFixed(1)} s`);
console.log(`  (how each warm step started: ${warm.starts.join(" ")})`);
const continued = warm.times.filter((_, i) => warm.starts[i] === "continued");
console.log(
  `mean per step: booted ${avg(cold.times).toFixed(2)} s, resumed ${avg(warm.resumed).toFixed(2)} s, continued ${avg(continued).toFixed(2)} s (${(avg(continued) / avg(cold.times)).toFixed(3)}x booted)`,
);
/** Where a continued step's time goes, in ms: park, snapshot, state save, the rest of the start, the rest of the step. */
function split(b) {
  const cont = b.vm.filter((e) => e.how === "continued");
  const times = b.times.filter((_, i) => b.starts[i] === "continued").map((t) => t * 1000);
  const park = avg(cont.map((e) => e.parkMs ?? 0));
  const snapshot = avg(cont.map((e) => e.snapshotMs ?? 0));
  const state = avg(cont.map((e) => e.stateMs ?? 0));
  const start = avg(cont.map((e) => e.ms));
  const step = avg(times);
  return `step ${step.toFixed(0)} ms = park (sync+fsfreeze, unplug, pause) ${park.toFixed(0)} + snapshot ${snapshot.toFixed(0)} + state save ${state.toFixed(0)} + cont ${(start - snapshot - state).toFixed(0)} + exec round trip (clock, workdir, user, command) and store ${(step - start - park).toFixed(0)}`;
}
console.log(`  continued split (states kept):  ${split(warm)}`);
console.log(`  continued split (warmKeep 0):   ${split(bare)}   total ${bare.total.toFixed(1)} s`);
console.log(
  `1-step spec ${one.total.toFixed(1)} s vs ${STEPS}-step spec ${warm.total.toFixed(1)} s (${(warm.total / one.total).toFixed(2)}x)`,
);
console.log(
  `disk used by saved states: ${(warm.bytes / 2 ** 20).toFixed(0)} MiB (${(warm.bytes / 2 ** 20 / STEPS).toFixed(0)} MiB a layer)`,
);
console.log(`load average at the start ${loadBefore}, at the end ${load()}`);
