// Registry transfers, each printed beside baselines measured in the same run on the same blobs:
// pull and push of the Debian base image and of a 10-layer chain through strata, and a
// no-change push of the already-pushed chain. Needs `pnpm build` and the cached test image.
//
// GOALS (issue #12), checked at the end from this run's figures and printed PASS/FAIL:
//   1. each pull and each push runs at >= 0.8x the throughput of its SAME-WORK baseline;
//   2. a no-change push of the already-pushed 10-layer chain takes < 1 s.
// Same-work baselines (the ratio the goal is read against):
//   pull: per file, `curl` fetching the file's chunk blobs in order `| zstd -d > file`, then
//         `sha256sum file` (all files at once) - the bytes strata produces and a digest over
//         them, without strata's per-blob digests, qcow2 checks and atomic store entry;
//   push: `sha256sum` and `zstd -1 -T0` of the files, then `curl` PUT of the blobs (4 at once).
// Raw-curl ratios are printed too: curl alone only moves the compressed blobs (to /dev/null on
// pull, from ready files on push), which is the loopback limit, not the same work; a pull also
// inflates them (3.5x for the base image) and writes the result.
// Every rate counts blob (compressed) bytes. Wall times: run only when `uptime` load < 4; the
// load average is printed at the start and end. BENCH_CHUNK_MIB=16 compares another chunk size.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pullBaseImage, pushBaseImage } from "../packages/image-builder/dist/index.js";
import { pullLayers, pushLayers } from "../packages/layer-transfer/dist/index.js";
import { RegistryClient } from "../packages/registry/dist/index.js";
import { startTestRegistry } from "../packages/registry/dist/testing.js";
import { openStore } from "../packages/store/dist/index.js";
import { buildRandomChain } from "./chain-support.mjs";
import { imageDir } from "./vm-support.mjs";

const chunkBytes = Number(process.env.BENCH_CHUNK_MIB ?? 64) * 2 ** 20;
const LAYERS = 10;
const LAYER_MIB = 16;
const anonymous = async () => undefined;
const mib = (b) => (b / 2 ** 20).toFixed(1);
const rate = (bytes, ms) => `${(bytes / 2 ** 20 / (ms / 1000)).toFixed(1)} MiB/s`;
const GOAL_RATIO = 0.8;
const GOAL_NO_CHANGE_MS = 1000;
const TICK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
/** CPU seconds of this process and of its children that ended (zstd, dd, curl, sha256sum). */
function cpuSeconds() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  return (f[11] + f[12] + f[13] + f[14]) / TICK;
}
const time = async (fn) => {
  // Each measurement starts with no dirty data on the disk: otherwise the writeback of what an
  // earlier one wrote (the registry's storage, a pulled image) runs inside this one.
  execFileSync("sync");
  const cpu = cpuSeconds();
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, cpu: cpuSeconds() - cpu, value };
};
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

const work = mkdtempSync(join(tmpdir(), "strata-bench-registry-"));
const registry = await startTestRegistry();
const client = new RegistryClient({ registry: registry.registry, credentials: anonymous });
const base = `http://${registry.registry}/v2`;
const goals = [];

/** Prints strata's figure for `what` beside its baselines (each `{ label, ms, cpu }`). */
function report(what, bytes, strata, sameWork, curl) {
  const line = (label, t, extra = "") =>
    console.log(
      `${label.padEnd(44)} ${mib(bytes).padStart(7)} MiB ${(t.ms / 1000).toFixed(2).padStart(6)} s ${rate(bytes, t.ms).padStart(12)}  cpu ${t.cpu.toFixed(2).padStart(5)} s${extra}`,
    );
  const ratio = (b) => ` ${(b.ms / strata.ms).toFixed(2)}x`;
  line(`${what} (strata)`, strata);
  line(`  same work: ${sameWork.label}`, sameWork, `  strata at${ratio(sameWork)} (goal)`);
  line(`  raw: ${curl.label}`, curl, `  strata at${ratio(curl)}`);
  goals.push({
    what: `${what} >= ${GOAL_RATIO}x same-work throughput`,
    figure: `${(sameWork.ms / strata.ms).toFixed(2)}x`,
    pass: sameWork.ms / strata.ms >= GOAL_RATIO,
  });
}

/** Blob descriptors (config and layers) of a manifest. */
async function blobsOf(repo, tag) {
  const m = (await client.getManifest(repo, tag)).json;
  return [m.config, ...m.layers];
}

/** Runs `sh -c script` with args; resolves when it exits 0. */
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

/** Runs `fn` over `items`, `limit` at once. */
async function pool(items, limit, fn) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (queue.length > 0) await fn(queue.shift());
    }),
  );
}

/** curl fetching the blobs to /dev/null, 4 at once: the loopback limit. */
function curlPull(repo, blobs) {
  return time(() =>
    sh('curl -s --fail --parallel --parallel-max 4 "$@"', [
      ...blobs.flatMap((b) => ["-o", "/dev/null", `${base}/${repo}/blobs/${b.digest}`]),
    ]),
  );
}

/** Same work as a pull: per file `curl | zstd -d > file`, then sha256sum of it; all at once. */
async function curlUnzstd(repo, groups) {
  const out = mkdtempSync(join(work, "curl-zstd-"));
  const t = await time(() =>
    Promise.all(
      groups.map((group, i) =>
        sh(
          'out="$1"; shift; curl -s --fail "$@" | zstd -q -d -c > "$out" && sha256sum "$out" > /dev/null',
          [join(out, String(i)), ...group.map((b) => `${base}/${repo}/blobs/${b.digest}`)],
        ),
      ),
    ),
  );
  rmSync(out, { recursive: true, force: true });
  return t;
}

/** The zstd chunk blobs of a manifest's layers, grouped by the file they make. */
function chunkGroups(layers) {
  const groups = new Map();
  for (const d of layers) {
    if (!d.mediaType.endsWith("+zstd")) continue;
    if (!groups.has(d.mediaType)) groups.set(d.mediaType, []);
    groups.get(d.mediaType).push(d);
  }
  return [...groups.values()];
}

/** curl PUT of the blobs (saved to files first, untimed) into a fresh repository, 4 at once. */
async function curlPush(repo, blobs) {
  const dir = mkdtempSync(join(work, "blobs-"));
  for (const b of blobs)
    writeFileSync(
      join(dir, b.digest.slice(7)),
      await client.readBlob(repo, b.digest, { maxBytes: 2 ** 31 }),
    );
  const target = `curl-push-${repo}`;
  const t = await time(() =>
    pool(blobs, 4, async (b) => {
      const r = await fetch(`${base}/${target}/blobs/uploads/`, { method: "POST" });
      const location = new URL(r.headers.get("location"), base);
      location.searchParams.set("digest", b.digest);
      await sh(
        'curl -s --fail -X PUT -H "content-type: application/octet-stream" --data-binary "@$1" "$2"',
        [join(dir, b.digest.slice(7)), location.href],
      );
    }),
  );
  rmSync(dir, { recursive: true, force: true });
  return t;
}

/** Same work as a push, before the upload: sha256sum and `zstd -1 -T0` of each file. */
function hashAndCompress(files) {
  return time(() =>
    sh(
      'for f in "$@"; do sha256sum "$f" > /dev/null && zstd -q -1 -T0 --no-check -c "$f" > /dev/null || exit 1; done',
      files,
    ),
  );
}

const plus = (a, b, label) => ({ label, ms: a.ms + b.ms, cpu: a.cpu + b.cpu });

try {
  const images = imageDir();
  const a = join(work, "a");
  mkdirSync(join(a, "base-image"), { recursive: true });
  for (const f of readdirSync(images))
    if (f.startsWith("debian-bookworm.")) linkSync(join(images, f), join(a, "base-image", f));

  console.log(
    `chunk size ${mib(chunkBytes)} MiB; registry ${registry.registry}; load average at start ${load()}`,
  );
  // Base image: push, pull, beside the same work and curl on the same blobs.
  const push = await time(() =>
    pushBaseImage({
      client,
      repository: "images",
      baseImageDir: join(a, "base-image"),
      name: "debian-bookworm",
    }),
  );
  const blobs = await blobsOf("images", "debian-bookworm");
  const blobBytes = blobs.reduce((s, b) => s + b.size, 0);
  const imageFiles = readdirSync(join(a, "base-image"))
    .filter((f) => /\.(qcow2|vmlinuz|initrd)$/.test(f))
    .map((f) => join(a, "base-image", f));
  const zstdImage = await hashAndCompress(imageFiles);
  const curlPushImage = await curlPush("images", blobs);
  report(
    "push base image",
    blobBytes,
    push,
    plus(zstdImage, curlPushImage, "sha256sum + zstd -1 -T0, curl PUT"),
    { ...curlPushImage, label: "curl PUT of the blobs" },
  );

  const c = join(work, "c");
  const pull = await time(() =>
    pullBaseImage({
      client,
      repository: "images",
      tag: "debian-bookworm",
      baseImageDir: join(c, "base-image"),
      downloadDir: join(c, "download"),
      name: "debian-bookworm",
    }),
  );
  const unzstdImage = await curlUnzstd("images", chunkGroups(blobs.slice(1)));
  const curlImage = await curlPull("images", blobs);
  report(
    "pull base image",
    blobBytes,
    pull,
    { ...unzstdImage, label: "curl | zstd -d > file, sha256sum" },
    { ...curlImage, label: "curl to /dev/null, 4 at once" },
  );
  const skopeo = spawnSync("skopeo", ["--version"]).status === 0;
  if (skopeo) {
    const t = await time(() =>
      sh('skopeo copy -q --src-tls-verify=false "$1" "$2"', [
        `docker://${registry.registry}/images:debian-bookworm`,
        `oci:${join(work, "skopeo")}:x`,
      ]),
    ).catch((e) => e);
    if (t instanceof Error) console.log(`skopeo copy: failed (${t.message.split("\n").at(-2)})`);
    else
      console.log(
        `  (skopeo copy of the same image: ${(t.ms / 1000).toFixed(2)} s ${rate(blobBytes, t.ms)}, no decompression)`,
      );
  } else console.log("  (skopeo: not installed)");

  // A 10-layer chain of 16 MiB random writes each (no VM: qemu-io on real overlays).
  const storeA = await openStore({ root: a });
  const ids = await buildRandomChain(storeA, work, LAYERS, LAYER_MIB);
  const top = ids.at(-1);
  const chainPush = await time(() => pushLayers(storeA, client, "chain", top, { chunkBytes }));
  const chainBlobs = (await Promise.all(ids.map((id) => blobsOf("chain", id)))).flat();
  const chainBytes = chainBlobs.reduce((s, b) => s + b.size, 0);
  const layerFiles = ids.map((id) => join(a, "result", id, "rootfs", "image.qcow2"));
  const zstdChain = await hashAndCompress(layerFiles);
  const curlPushChain = await curlPush("chain", chainBlobs);
  report(
    `push ${LAYERS}-layer chain`,
    chainBytes,
    chainPush,
    plus(zstdChain, curlPushChain, "sha256sum + zstd -1 -T0, curl PUT"),
    { ...curlPushChain, label: "curl PUT of the blobs" },
  );
  const noChange = await time(() => pushLayers(storeA, client, "chain", top));
  console.log(
    `no-change push of the ${LAYERS}-layer chain: ${noChange.ms.toFixed(0)} ms (goal < ${GOAL_NO_CHANGE_MS} ms)`,
  );
  goals.push({
    what: `no-change push of the ${LAYERS}-layer chain < ${GOAL_NO_CHANGE_MS} ms`,
    figure: `${noChange.ms.toFixed(0)} ms`,
    pass: noChange.ms < GOAL_NO_CHANGE_MS,
  });
  storeA.close();

  const b = join(work, "b");
  mkdirSync(join(b, "base-image"), { recursive: true });
  for (const f of readdirSync(join(a, "base-image")))
    linkSync(join(a, "base-image", f), join(b, "base-image", f));
  const storeB = await openStore({ root: b });
  const chainPull = await time(() => pullLayers(storeB, client, "chain", top));
  storeB.close();
  const chainManifests = await Promise.all(
    ids.map(async (id) => (await client.getManifest("chain", id)).json),
  );
  const unzstdChain = await curlUnzstd(
    "chain",
    chainManifests.flatMap((m) => chunkGroups(m.layers)),
  );
  const curlChain = await curlPull("chain", chainBlobs);
  report(
    `pull ${LAYERS}-layer chain`,
    chainBytes,
    chainPull,
    { ...unzstdChain, label: "curl | zstd -d > file, sha256sum" },
    { ...curlChain, label: "curl to /dev/null, 4 at once" },
  );

  console.log(`\nGoals, from this run's figures (load average at end ${load()}):`);
  for (const g of goals) console.log(`  ${g.pass ? "PASS" : "FAIL"}  ${g.what}: ${g.figure}`);
} finally {
  await registry[Symbol.asyncDispose]();
  rmSync(work, { recursive: true, force: true });
}
