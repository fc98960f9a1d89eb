#!/usr/bin/env node
// Building the Debian base image through `strata-image build debian-bookworm`, beside the bare
// tools for the same package set in the same run (mmdebstrap into a directory, then mke2fs -d),
// and the built image's boot-to-SSH time under the accelerator this host gets (TCG here).
// Needs root and Debian's package mirror; takes minutes. Builds the packages it uses first.
// Usage: node bench/image-build.mjs [boots=2]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BOOTS = Number(process.argv[2] ?? 2);
const root = new URL("..", import.meta.url).pathname;
const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

run("pnpm", ["--filter", "@strata/image-builder-cli...", "build"], { cwd: root });
const { DEFAULT_DEBIAN_PACKAGES } = await import("../packages/image-builder/dist/index.js");
const { loadImageManifest, startVm } = await import("../packages/qemu-runner/dist/index.js");
const { waitForSsh } = await import("../packages/ssh-transport/dist/index.js");

const work = mkdtempSync(join(tmpdir(), "strata-bench-image-"));
try {
  // 1. The whole recipe through the command line.
  const store = join(work, "store");
  let t = performance.now();
  run(
    "node",
    [
      join(root, "apps/image-builder/bin/strata-image.js"),
      "build",
      "debian-bookworm",
      `--store=qemu:${store}`,
    ],
    {
      env: { ...process.env, CI: "1" },
    },
  );
  const recipeMs = performance.now() - t;

  // 2. The bare tools, same packages, no customisation, no qcow2.
  const tree = join(work, "tree");
  t = performance.now();
  run("mmdebstrap", [
    "--mode=root",
    "--variant=apt",
    `--include=${DEFAULT_DEBIAN_PACKAGES.join(",")}`,
    "bookworm",
    tree,
  ]);
  const mmdebstrapMs = performance.now() - t;
  const raw = join(work, "disk.raw");
  t = performance.now();
  run("truncate", ["-s", "8G", raw]);
  run("mke2fs", ["-q", "-t", "ext4", "-d", tree, raw]);
  const mkfsMs = performance.now() - t;
  rmSync(tree, { recursive: true, force: true });
  rmSync(raw, { force: true });

  // 3. Boot to SSH, on an overlay of the built image.
  const image = join(store, "base-image", "debian-bookworm.qcow2");
  const manifest = await loadImageManifest(image);
  const boots = [];
  for (let i = 0; i < BOOTS; i++) {
    const overlay = join(work, `boot${i}.qcow2`);
    run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, overlay]);
    t = performance.now();
    const vm = await startVm({ image: overlay, manifest });
    try {
      const ssh = await waitForSsh({
        port: vm.sshPort,
        username: manifest.ssh.user,
        privateKey: { path: manifest.ssh.privateKey },
        diagnostics: () => vm.consoleTail(),
      });
      boots.push({ ms: performance.now() - t, accel: vm.accel });
      await ssh.close();
    } finally {
      await vm[Symbol.asyncDispose]();
    }
  }
  const size = JSON.parse(run("qemu-img", ["info", "--output=json", image], { encoding: "utf8" }))[
    "actual-size"
  ];
  console.log(`packages: ${DEFAULT_DEBIAN_PACKAGES.length} on top of the apt variant`);
  console.log(
    `strata-image build debian-bookworm:   ${seconds(recipeMs)} (qcow2 ${(size / 2 ** 20).toFixed(0)} MiB)`,
  );
  console.log(`bare mmdebstrap:                      ${seconds(mmdebstrapMs)}`);
  console.log(`bare mke2fs -d (8 GiB ext4):          ${seconds(mkfsMs)}`);
  console.log(
    `bare total:                           ${seconds(mmdebstrapMs + mkfsMs)}  (recipe overhead ${seconds(recipeMs - mmdebstrapMs - mkfsMs)})`,
  );
  for (const [i, b] of boots.entries())
    console.log(`boot to SSH #${i + 1} (${b.accel}):              ${seconds(b.ms)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
