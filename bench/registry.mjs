// Registry transfers, each printed beside a baseline measured in the same run on the same
// blobs: pull of the Debian base image and of a 10-layer chain through strata (download, digest
// checks, zstd decompression, qcow2 checks, atomic store entry) vs `curl` fetching the same
// blobs from the same registry (the loopback limit) and vs `skopeo copy` where installed; push
// likewise vs curl uploads; and a no-change push of the already-pushed chain (goal < 1 s).
// Goal: strata >= 0.8x curl's throughput. Needs `pnpm build` and the cached test image.
//
// Same quantity, same work: every rate counts blob (compressed) bytes. `curl` alone only moves
// those bytes to /dev/null, while a pull must also inflate them (3.5x for the base image) and
// write the result; so pulls are also compared with "curl | zstd -d > file" per file (curl
// fetching that file's chunks in order, one zstd writing them: the same bytes produced, without
// strata's verification), and pushes with "zstd -1 -T0 of the files, then curl PUT of the
// blobs". Both ratios are printed; the goal is read against the same-work baseline.
// BENCH_CHUNK_MIB=16 node bench/registry.mjs compares another chunk size.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pullBaseImage, pushBaseImage } from "../packages/image-builder/dist/index.js";
import { pullLayers, pushLayers } from "../packages/layer-transfer/dist/index.js";
import { RegistryClient } from "../packages/registry/dist/index.js";
import { startTestRegistry } from "../packages/registry/dist/testing.js";
import { openStore } from "../packages/store/dist/index.js";
import { imageDir } from "./vm-support.mjs";

const chunkBytes = Number(process.env.BENCH_CHUNK_MIB ?? 64) * 2 ** 20;
const LAYERS = 10;
const LAYER_MIB = 16;
const anonymous = async () => undefined;
const mib = (b) => (b / 2 ** 20).toFixed(1);
const rate = (bytes, ms) => `${(bytes / 2 ** 20 / (ms / 1000)).toFixed(1)} MiB/s`;
const time = async (fn) => {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
};

const work = mkdtempSync(join(tmpdir(), "strata-bench-registry-"));
const registry = await startTestRegistry();
const client = new RegistryClient({ registry: registry.registry, credentials: anonymous });
const base = `http://${registry.registry}/v2`;
const rows = [];
function row(what, bytes, ms, baselineMs, baseline) {
  rows.push({ what, bytes, ms, baselineMs, baseline });
  const ratio = baselineMs ? ` (${(baselineMs / ms).toFixed(2)}x ${baseline})` : "";
  console.log(
    `${what.padEnd(34)} ${mib(bytes).padStart(8)} MiB ${(ms / 1000).toFixed(2).padStart(7)} s ${rate(bytes, ms).padStart(12)}${ratio}`,
  );
}

/** Blob digests and sizes of a manifest, for curl. */
async function blobsOf(repo, tag) {
  const m = (await client.getManifest(repo, tag)).json;
  return [m.config, ...m.layers];
}

function curlPull(repo, blobs) {
  const args = ["-s", "--parallel", "--parallel-max", "4", "--fail"];
  for (const b of blobs) args.push("-o", "/dev/null", `${base}/${repo}/blobs/${b.digest}`);
  const t = performance.now();
  execFileSync("curl", args);
  return performance.now() - t;
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

/** `curl | zstd -d > file` for each group of chunk blobs (one file each, all at once). */
async function curlUnzstd(repo, groups) {
  const out = mkdtempSync(join(work, "curl-zstd-"));
  const t = performance.now();
  await Promise.all(
    groups.map((group, i) =>
      sh('out="$1"; shift; curl -s --fail "$@" | zstd -q -d -c > "$out"', [
        join(out, String(i)),
        ...group.map((b) => `${base}/${repo}/blobs/${b.digest}`),
      ]),
    ),
  );
  const ms = performance.now() - t;
  rmSync(out, { recursive: true, force: true });
  return ms;
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

try {
  const images = imageDir();
  const a = join(work, "a");
  mkdirSync(join(a, "base-image"), { recursive: true });
  for (const f of readdirSync(images))
    if (f.startsWith("debian-bookworm.")) linkSync(join(images, f), join(a, "base-image", f));

  console.log(`chunk size ${mib(chunkBytes)} MiB; registry ${registry.registry}`);
  // Base image: push, pull, beside curl and skopeo on the same blobs.
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
  // curl upload of the same bytes: one monolithic PUT per blob into a fresh repository.
  const blobDir = join(work, "blobs");
  mkdirSync(blobDir);
  for (const b of blobs)
    writeFileSync(
      join(blobDir, b.digest.slice(7)),
      await client.readBlob("images", b.digest, { maxBytes: 2 ** 31 }),
    );
  const curlPush = await time(async () => {
    await Promise.all(
      blobs.map(async (b) => {
        const r = await fetch(`${base}/curl-push/blobs/uploads/`, { method: "POST" });
        const location = new URL(r.headers.get("location"), base);
        location.searchParams.set("digest", b.digest);
        const out = spawnSync("curl", [
          "-s",
          "--fail",
          "-X",
          "PUT",
          "-H",
          "content-type: application/octet-stream",
          "--data-binary",
          `@${join(blobDir, b.digest.slice(7))}`,
          location.href,
        ]);
        if (out.status !== 0) throw new Error(`curl upload failed: ${out.stderr}`);
      }),
    );
  });
  const imageFiles = readdirSync(join(a, "base-image"))
    .filter((f) => /\.(qcow2|vmlinuz|initrd)$/.test(f))
    .map((f) => join(a, "base-image", f));
  const zstdOnly = await time(() =>
    sh('for f in "$@"; do zstd -q -1 -T0 --no-check -c "$f" > /dev/null; done', imageFiles),
  );
  row("push base image (strata)", blobBytes, push.ms, curlPush.ms, "curl PUT of the blobs");
  row(
    "push base image (strata)",
    blobBytes,
    push.ms,
    zstdOnly.ms + curlPush.ms,
    "zstd -1 -T0, then curl PUT",
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
  const curlMs = curlPull("images", blobs);
  row("pull base image (strata)", blobBytes, pull.ms, curlMs, "curl");
  const unzstdMs = await curlUnzstd("images", chunkGroups(blobs.slice(1)));
  row("pull base image (strata)", blobBytes, pull.ms, unzstdMs, "curl | zstd -d > file");
  row("pull base image (curl, 4 at once)", blobBytes, curlMs);
  row("pull base image (curl | zstd -d)", blobBytes, unzstdMs);
  const skopeo = spawnSync("skopeo", ["--version"]).status === 0;
  if (skopeo) {
    const t = performance.now();
    const out = spawnSync("skopeo", [
      "copy",
      "--src-tls-verify=false",
      `docker://${registry.registry}/images:debian-bookworm`,
      `oci:${join(work, "skopeo")}:x`,
    ]);
    const ms = performance.now() - t;
    if (out.status === 0) row("pull base image (skopeo copy)", blobBytes, ms, undefined);
    else console.log(`skopeo copy: failed (${String(out.stderr).trim().split("\n").at(-1)})`);
  } else console.log("skopeo: not installed");

  // A 10-layer chain of 16 MiB random writes each (no VM: qemu-io on real overlays).
  const storeA = await openStore({ root: a });
  let parent;
  const ids = [];
  for (let i = 0; i < LAYERS; i++) {
    const id = `${String(i).padStart(2, "0")}${"ab".repeat(31)}`;
    await storeA.build(
      id,
      { ...(parent ? { parent } : { base: "debian-bookworm" }), description: `layer ${i}` },
      async (layer) => {
        const data = join(work, "rand");
        execFileSync("sh", ["-c", `head -c ${LAYER_MIB * 2 ** 20} /dev/urandom > ${data}`]);
        execFileSync("qemu-io", [
          "-f",
          "qcow2",
          "-c",
          `write -s ${data} ${i * LAYER_MIB * 2 ** 20} ${LAYER_MIB * 2 ** 20}`,
          layer.image,
        ]);
        layer.log(`layer ${i}\n`);
      },
    );
    ids.push(id);
    parent = id;
  }
  const top = ids.at(-1);
  const chainPush = await time(() => pushLayers(storeA, client, "chain", top, { chunkBytes }));
  const chainBlobs = (await Promise.all(ids.map((id) => blobsOf("chain", id)))).flat();
  const chainBytes = chainBlobs.reduce((s, b) => s + b.size, 0);
  row(`push ${LAYERS}-layer chain (strata)`, chainBytes, chainPush.ms);
  const noChange = await time(() => pushLayers(storeA, client, "chain", top));
  console.log(
    `no-change push of the ${LAYERS}-layer chain: ${noChange.ms.toFixed(0)} ms (goal < 1000 ms)`,
  );
  storeA.close();

  const b = join(work, "b");
  mkdirSync(join(b, "base-image"), { recursive: true });
  for (const f of readdirSync(join(a, "base-image")))
    linkSync(join(a, "base-image", f), join(b, "base-image", f));
  const storeB = await openStore({ root: b });
  const chainPull = await time(() => pullLayers(storeB, client, "chain", top));
  storeB.close();
  const chainCurl = curlPull("chain", chainBlobs);
  row(`pull ${LAYERS}-layer chain (strata)`, chainBytes, chainPull.ms, chainCurl, "curl");
  const chainManifests = await Promise.all(
    ids.map(async (id) => (await client.getManifest("chain", id)).json),
  );
  const chainUnzstd = await curlUnzstd(
    "chain",
    chainManifests.flatMap((m) => chunkGroups(m.layers)),
  );
  row(
    `pull ${LAYERS}-layer chain (strata)`,
    chainBytes,
    chainPull.ms,
    chainUnzstd,
    "curl | zstd -d > file",
  );
  row(`pull ${LAYERS}-layer chain (curl)`, chainBytes, chainCurl);
  row(`pull ${LAYERS}-layer chain (curl | zstd -d)`, chainBytes, chainUnzstd);
} finally {
  await registry[Symbol.asyncDispose]();
  rmSync(work, { recursive: true, force: true });
}
