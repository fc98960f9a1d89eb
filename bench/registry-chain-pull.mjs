// The chain pull of bench/registry.mjs alone, repeated: a 10-layer chain (16 MiB random writes
// each) pushed once, then pulled BENCH_RUNS times (default 3) into fresh stores, each beside the
// same-work baseline (`curl | zstd -d > file`, sha256sum; all files at once). For profiling and
// iterating on the pull; bench/registry.mjs remains the goal's judge. Run with load < 4.
import { execFileSync, spawn } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pullLayers, pushLayers } from "../packages/layer-transfer/dist/index.js";
import { RegistryClient } from "../packages/registry/dist/index.js";
import { startTestRegistry } from "../packages/registry/dist/testing.js";
import { openStore } from "../packages/store/dist/index.js";
import { buildRandomChain } from "./chain-support.mjs";
import { imageDir } from "./vm-support.mjs";

const LAYERS = 10;
const LAYER_MIB = 16;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TICK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
function cpuSeconds() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  return (f[11] + f[12] + f[13] + f[14]) / TICK;
}
function cpuSplit() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  return [f[11] / TICK, f[12] / TICK, f[13] / TICK, f[14] / TICK];
}
async function time(fn) {
  const cpu = cpuSeconds();
  const t = performance.now();
  await fn();
  return { s: (performance.now() - t) / 1000, cpu: cpuSeconds() - cpu };
}
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
function sh(script, args) {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", script, "sh", ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${script}: ${err}`))));
  });
}

const work = mkdtempSync(join(tmpdir(), "strata-bench-chain-pull-"));
const registry = await startTestRegistry();
const client = new RegistryClient({
  registry: registry.registry,
  credentials: async () => undefined,
});
const base = `http://${registry.registry}/v2`;
function storeWithBase(name) {
  const root = join(work, name);
  mkdirSync(join(root, "base-image"), { recursive: true });
  for (const f of readdirSync(imageDir()))
    if (f.startsWith("debian-bookworm."))
      linkSync(join(imageDir(), f), join(root, "base-image", f));
  return root;
}
try {
  const storeA = await openStore({ root: storeWithBase("a") });
  const ids = await buildRandomChain(storeA, work, LAYERS, LAYER_MIB);
  await pushLayers(storeA, client, "chain", ids.at(-1));
  storeA.close();
  const manifests = await Promise.all(
    ids.map(async (id) => (await client.getManifest("chain", id)).json),
  );
  const groups = manifests.flatMap((m) => {
    const g = new Map();
    for (const d of m.layers)
      if (d.mediaType.endsWith("+zstd")) g.set(d.mediaType, [...(g.get(d.mediaType) ?? []), d]);
    return [...g.values()];
  });
  console.log(`load at start ${load()}`);
  for (let run = 0; run < RUNS; run++) {
    const root = storeWithBase(`b${run}`);
    const store = await openStore({ root });
    const before = cpuSplit();
    const strata = await time(() => pullLayers(store, client, "chain", ids.at(-1)));
    const after = cpuSplit();
    console.log(
      `  strata cpu: user ${(after[0] - before[0]).toFixed(2)} sys ${(after[1] - before[1]).toFixed(2)} children user ${(after[2] - before[2]).toFixed(2)} sys ${(after[3] - before[3]).toFixed(2)}`,
    );
    store.close();
    const out = mkdtempSync(join(work, "same-"));
    const same = await time(() =>
      Promise.all(
        groups.map((group, i) =>
          sh(
            'out="$1"; shift; curl -s --fail "$@" | zstd -q -d -c > "$out" && sha256sum "$out" > /dev/null',
            [join(out, String(i)), ...group.map((b) => `${base}/chain/blobs/${b.digest}`)],
          ),
        ),
      ),
    );
    rmSync(out, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
    console.log(
      `run ${run}: strata ${strata.s.toFixed(2)} s (cpu ${strata.cpu.toFixed(2)} s), same work ${same.s.toFixed(2)} s (cpu ${same.cpu.toFixed(2)} s): ${(same.s / strata.s).toFixed(2)}x  load ${load()}`,
    );
  }
} finally {
  await registry[Symbol.asyncDispose]();
  rmSync(work, { recursive: true, force: true });
}
