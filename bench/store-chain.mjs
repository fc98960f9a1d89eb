#!/usr/bin/env node
// Read speed of a deep qcow2 chain, with and without the store's flattening.
//
// Builds a 100-layer chain twice with real qemu-img, following @strata/store's policy: each
// layer is an overlay of its parent with a relative backing path, except that a layer whose
// chain would be deeper than the depth limit is written standalone (`qemu-img convert`). Each
// layer writes 2 MiB at its own offset with qemu-io. Then the top image is read sequentially
// (`qemu-img bench`, 1 MiB sequential reads) with depth limit 1000 (never flattened) and with the
// store's default (30). Usage: node bench/store-chain.mjs [layers=100] [limit=30]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LAYERS = Number(process.argv[2] ?? 100);
const DEFAULT_LIMIT = Number(process.argv[3] ?? 30);
const MiB = 1024 * 1024;
const PER_LAYER = 2 * MiB;
const VIRTUAL = `${Math.ceil((LAYERS * PER_LAYER) / MiB) + 64}M`;

const run = (cmd, args) => execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });

function buildChain(root, limit) {
  mkdirSync(join(root, "base-image"), { recursive: true });
  run("qemu-img", ["create", "-q", "-f", "qcow2", join(root, "base-image", "base.qcow2"), VIRTUAL]);
  let parent;
  let depth = 0;
  let flattened = 0;
  const started = performance.now();
  for (let i = 0; i < LAYERS; i++) {
    const dir = join(root, "result", String(i).padStart(4, "0"), "rootfs");
    mkdirSync(dir, { recursive: true });
    const image = join(dir, "image.qcow2");
    if (parent === undefined) {
      run("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        "-b",
        "../../../base-image/base.qcow2",
        image,
      ]);
      depth = 1;
    } else if (depth + 1 > limit) {
      run("qemu-img", [
        "convert",
        "-q",
        "-O",
        "qcow2",
        join(root, "result", parent, "rootfs", "image.qcow2"),
        image,
      ]);
      depth = 0;
      flattened++;
    } else {
      run("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        "qcow2",
        "-b",
        `../../../result/${parent}/rootfs/image.qcow2`,
        image,
      ]);
      depth++;
    }
    run("qemu-io", [
      "-f",
      "qcow2",
      "-c",
      `write -P ${(i % 250) + 1} ${i * PER_LAYER} ${PER_LAYER}`,
      image,
    ]);
    parent = String(i).padStart(4, "0");
  }
  const top = join(root, "result", parent, "rootfs", "image.qcow2");
  return { top, depth, flattened, buildSeconds: (performance.now() - started) / 1000 };
}

function readThroughput(top) {
  const requests = Number.parseInt(VIRTUAL, 10);
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = performance.now();
    // Sequential 1 MiB reads over the whole virtual disk, through the backing chain.
    run("qemu-img", ["bench", "-f", "qcow2", "-c", String(requests), "-s", "1M", "-S", "1M", top]);
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  const bytes = Number.parseInt(VIRTUAL, 10) * MiB;
  return { seconds: best, mibPerSecond: bytes / MiB / best };
}

const work = mkdtempSync(join(tmpdir(), "strata-bench-chain-"));
try {
  const results = [];
  for (const limit of [1000, DEFAULT_LIMIT]) {
    const chain = buildChain(join(work, `limit-${limit}`), limit);
    const read = readThroughput(chain.top);
    results.push({ limit, ...chain, ...read });
  }
  console.log(
    `store-chain: ${LAYERS} layers x ${PER_LAYER / MiB} MiB, top image ${VIRTUAL} virtual, read with qemu-img bench, 1 MiB sequential reads (best of 3)`,
  );
  for (const r of results) {
    console.log(
      `  depth limit ${String(r.limit).padEnd(4)}  top chain depth ${String(r.depth).padStart(3)}  flattened ${String(r.flattened).padStart(2)}  build ${r.buildSeconds.toFixed(1)} s  read ${r.seconds.toFixed(3)} s = ${r.mibPerSecond.toFixed(0)} MiB/s`,
    );
  }
  const [deep, flat] = results;
  console.log(`  speed-up from flattening: x${(deep.seconds / flat.seconds).toFixed(2)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
