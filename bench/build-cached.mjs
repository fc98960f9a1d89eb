// A fully cached rebuild of a 50-step spec, timed as a whole `strata build` process (target:
// under 300 ms), beside the cost of starting node and of `strata --help` in the same run.
// The 50 layers are made with the store's API and the engine's own layer IDs (qemu-img
// overlays, no VM), so the rebuild finds every step in the cache. Needs `pnpm build`.
import { execFileSync } from "node:child_process";
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  applyOp,
  baseLayerId,
  initialContext,
  runLayerId,
} from "../packages/builder/dist/index.js";
import { parseSpecOrThrow } from "../packages/spec-parser/dist/index.js";
import { openStore } from "../packages/store/dist/index.js";
import { imageDir } from "./vm-support.mjs";

const STEPS = 50;
const RUNS = 7;
const cli = join(import.meta.dirname, "..", "apps", "cli", "bin", "strata.js");
const root = mkdtempSync(join(tmpdir(), "strata-bench-cached-"));
try {
  mkdirSync(join(root, "base-image"));
  for (const f of readdirSync(imageDir()))
    if (f.startsWith("debian-bookworm."))
      linkSync(join(imageDir(), f), join(root, "base-image", f));
  const lines = ["((from debian-bookworm)"];
  for (let i = 0; i < STEPS; i++)
    lines.push(i % 5 === 0 ? ` (env STEP ${i})` : ` (run (shell "echo step ${i}"))`);
  const text = `${lines.join("\n")}\n)\n`;
  writeFileSync(join(root, "bench.spec"), text);
  const spec = parseSpecOrThrow(text);

  // Fill the store: the same IDs the engine computes, each layer a real qcow2 overlay and log.
  const store = await openStore({ root });
  try {
    const st = statSync(join(root, "base-image", "debian-bookworm.qcow2"));
    let id = baseLayerId("debian-bookworm", `${st.size}:${st.mtimeMs}`);
    await store.build(
      id,
      { base: "debian-bookworm", description: "(from debian-bookworm)" },
      async () => {},
    );
    let ctx = initialContext("linux", ["/bin/bash", "-c"]);
    for (const op of spec.ops) {
      if (op.op !== "run") {
        ctx = applyOp(ctx, op);
        continue;
      }
      const parent = id;
      id = runLayerId(parent, ctx, op.shell, op.network, []);
      await store.build(id, { parent, description: op.shell }, async (layer) =>
        layer.log(`${op.shell.slice(5)}\n`),
      );
    }
  } finally {
    await store.close();
  }

  const time = (args) => {
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const t = process.hrtime.bigint();
      const out = execFileSync(process.execPath, args, { cwd: root }).toString();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (args.includes("build") && out.includes("saved as"))
        throw new Error(`a step was not cached:\n${out}`);
    }
    return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
  };
  const node = time(["-e", ""]);
  const help = time([cli, "--help"]);
  const rebuild = time([cli, "build", `--store=qemu:${root}`, "-f", "bench.spec", "."]);
  console.log(
    `fully cached rebuild, ${STEPS}-step spec (${STEPS - STEPS / 5} layers), median of ${RUNS}:`,
  );
  console.log(
    `  node -e ''            ${node.toFixed(0).padStart(5)} ms  (baseline: starting node)`,
  );
  console.log(
    `  strata --help         ${help.toFixed(0).padStart(5)} ms  (baseline: loading the CLI)`,
  );
  console.log(
    `  strata build (cached) ${rebuild.toFixed(0).padStart(5)} ms  target < 300 ms: ${rebuild < 300 ? "met" : "NOT met"}`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
