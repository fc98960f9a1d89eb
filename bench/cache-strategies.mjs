#!/usr/bin/env node
// Checking a cache in and out of a guest by each strategy, beside `scp -r` of the same tree, in one
// boot of the Debian test image. The tree is FILES files of random data, SIZE MiB in all, in
// directories of 100 files.
//
// - scp: `scp -r` of the host tree into the guest, then back out (new connection each time).
// - copy: the cache is filled once in the guest (a local cp, not timed), then timed: detach (tar
//   back), commit (rename into cache/), a second checkout, attach (tar in), detach again.
// - disk: timed: checkout of a new cache (mke2fs + convert + overlay), attach (mount), then after a
//   local cp into it (not timed): detach (umount, which flushes), commit after shutdown (qemu-img
//   check + copy + qemu-img commit), and the checkout of the filled cache (link + overlay).
//
// Run after `pnpm turbo run build --filter=@strata/cache-sync...`:
//   node bench/cache-strategies.mjs [SIZE_MIB=500] [FILES=5000]
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openCaches } from "../packages/cache-sync/dist/index.js";
import { loadImageManifest, startVm } from "../packages/qemu-runner/dist/index.js";
import { waitForSsh } from "../packages/ssh-transport/dist/index.js";
import { openStore } from "../packages/store/dist/index.js";
import { ensureTestBaseImage } from "../test/support/base-image.mjs";

const SIZE_MIB = Number(process.argv[2] ?? 500);
const FILES = Number(process.argv[3] ?? 5000);
const opam = { uid: 1000, gid: 1000 };
const results = [];
const mibs = (ms) => `${((SIZE_MIB * 1000) / ms).toFixed(1)} MiB/s`;

async function time(label, fn, { rate = true } = {}) {
  const started = performance.now();
  const value = await fn();
  const ms = performance.now() - started;
  results.push({ label, ms, rate });
  console.log(
    `${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(8)} s${rate ? `  ${mibs(ms)}` : ""}`,
  );
  return value;
}

function makeTree(dir) {
  const per = Math.floor((SIZE_MIB * 2 ** 20) / FILES);
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, `d${String(Math.floor(i / 100)).padStart(3, "0")}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.bin`), randomBytes(per));
  }
}

const work = mkdtempSync(join(tmpdir(), "strata-bench-cache-"));
try {
  const imageDir = await ensureTestBaseImage();
  const image = join(imageDir, "debian-bookworm.qcow2");
  const manifest = await loadImageManifest(image);
  const tree = join(work, "tree");
  console.log(`tree: ${FILES} files, ${SIZE_MIB} MiB, in ${tree}`);
  makeTree(tree);
  const store = await openStore({ root: join(work, "store") });
  const disk = await time(
    "disk: checkout of a new cache (host)",
    () =>
      openCaches({
        store,
        caches: [{ id: "bench-disk", target: "/home/opam/disk-cache" }],
        os: "linux",
        user: opam,
      }),
    { rate: false },
  );
  const overlay = join(work, "root.qcow2");
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay]);
  const vm = await startVm({ image: overlay, manifest, drives: disk.drives, memoryMiB: 2048 });
  try {
    const ssh = await waitForSsh({
      port: vm.sshPort,
      username: manifest.ssh.user,
      privateKey: { path: manifest.ssh.privateKey },
      shell: manifest.shell,
      signal: vm.signal,
      diagnostics: () => vm.consoleTail(),
    });
    const scpArgs = [
      "-q",
      "-r",
      "-P",
      String(vm.sshPort),
      "-i",
      manifest.ssh.privateKey,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
    ];
    await time("scp -r: host -> guest", () =>
      execFileSync("scp", [...scpArgs, tree, "opam@127.0.0.1:/home/opam/scp-tree"]),
    );
    await time("scp -r: guest -> host", () =>
      execFileSync("scp", [
        ...scpArgs,
        "opam@127.0.0.1:/home/opam/scp-tree",
        join(work, "scp-back"),
      ]),
    );

    const copy = (target) =>
      openCaches({
        store,
        caches: [{ id: "bench-copy", target }],
        os: "linux",
        strategy: "copy",
        user: opam,
      });
    const first = await copy("/home/opam/copy-cache");
    await first.attach(ssh);
    await time(
      "(guest-local cp -a of the tree, untimed)",
      () => ssh.exec("cp -a /home/opam/scp-tree/. /home/opam/copy-cache/", { check: true }),
      { rate: false },
    );
    await time("copy: detach (tar stream guest -> host)", () => first.detach(ssh));
    await time("copy: commit (rename into cache/)", () => first.commit(), { rate: false });
    await first[Symbol.asyncDispose]();
    const second = await time("copy: checkout of the full cache (cp -a --reflink=auto)", () =>
      copy("/home/opam/copy-cache"),
    );
    await time("copy: attach (tar stream host -> guest)", () => second.attach(ssh));
    await time("copy: detach again (guest -> host)", () => second.detach(ssh));
    await second[Symbol.asyncDispose]();

    await time("disk: attach (mount)", () => disk.attach(ssh), { rate: false });
    await time(
      "(guest-local cp -a into the disk, untimed)",
      () => ssh.exec("cp -a /home/opam/scp-tree/. /home/opam/disk-cache/", { check: true }),
      { rate: false },
    );
    await time("disk: detach (umount, flushes the data)", () => disk.detach(ssh));
    await ssh.close();
    await vm.shutdown();
  } finally {
    await vm[Symbol.asyncDispose]();
  }
  await time("disk: commit (check + copy + qemu-img commit)", () => disk.commit());
  await disk[Symbol.asyncDispose]();
  const again = await time(
    "disk: checkout of the full cache (link + overlay)",
    () =>
      openCaches({ store, caches: [{ id: "bench-disk", target: "/x" }], os: "linux", user: opam }),
    { rate: false },
  );
  await again[Symbol.asyncDispose]();
  store.close();
  console.log(JSON.stringify({ sizeMiB: SIZE_MIB, files: FILES, results }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
