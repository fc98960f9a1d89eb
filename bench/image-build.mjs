#!/usr/bin/env node
// Building the Debian base image through `strata-image build debian-bookworm`, beside the bare
// tools for the same package set in the same run (mmdebstrap into a directory, then mke2fs -d),
// and the built image's boot-to-SSH time under the accelerator this host gets (TCG here).
// Needs root and Debian's package mirror; takes minutes. Builds the packages it uses first.
// Usage: node bench/image-build.mjs [boots=2] [--boot-only=IMAGE.qcow2]
//   boots=0 skips the boots (e.g. while other VMs run); --boot-only boots a built image (the
//   cached test image is this same recipe) without building.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const bootOnly = args.find((a) => a.startsWith("--boot-only="))?.slice("--boot-only=".length);
const BOOTS = Number(args.find((a) => /^\d+$/.test(a)) ?? 2);
const root = new URL("..", import.meta.url).pathname;
const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

run("pnpm", ["--filter", "@strata/image-builder-cli...", "build"], { cwd: root });
const { DEFAULT_DEBIAN_PACKAGES } = await import("../packages/image-builder/dist/index.js");
const { loadImageManifest, startVm } = await import("../packages/qemu-runner/dist/index.js");
const { waitForSsh } = await import("../packages/ssh-transport/dist/index.js");

async function buildBoth(work) {
  // 1. The whole recipe through the command line (CI=1: plain progress lines, not parsed here).
  const store = join(work, "store");
  let t = performance.now();
  const cli = join(root, "apps/image-builder/bin/strata-image.js");
  run("node", [cli, "build", "debian-bookworm", `--store=qemu:${store}`], {
    env: { ...process.env, CI: "1" },
  });
  const recipeMs = performance.now() - t;
  const image = join(store, "base-image", "debian-bookworm.qcow2");
  const size = JSON.parse(run("qemu-img", ["info", "--output=json", image], { encoding: "utf8" }))[
    "actual-size"
  ];

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
  console.log(`packages: ${DEFAULT_DEBIAN_PACKAGES.length} on top of the apt variant`);
  console.log(
    `strata-image build debian-bookworm:  ${seconds(recipeMs)} (qcow2 ${(size / 2 ** 20).toFixed(0)} MiB)`,
  );
  console.log(`bare mmdebstrap:                     ${seconds(mmdebstrapMs)}`);
  console.log(`bare mke2fs -d (8 GiB ext4):         ${seconds(mkfsMs)}`);
  console.log(
    `bare total:                          ${seconds(mmdebstrapMs + mkfsMs)} (recipe overhead ${seconds(recipeMs - mmdebstrapMs - mkfsMs)})`,
  );
  return image;
}

// 3. Boot to SSH, each on a fresh overlay of the image.
async function bootToSsh(work, image) {
  const manifest = await loadImageManifest(image);
  for (let i = 0; i < BOOTS; i++) {
    const overlay = join(work, `boot${i}.qcow2`);
    run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, overlay]);
    const t = performance.now();
    const vm = await startVm({ image: overlay, manifest });
    try {
      const ssh = await waitForSsh({
        port: vm.sshPort,
        username: manifest.ssh.user,
        privateKey: { path: manifest.ssh.privateKey },
        diagnostics: () => vm.consoleTail(),
      });
      console.log(
        `boot to SSH #${i + 1} (${vm.accel}):             ${seconds(performance.now() - t)}`,
      );
      await ssh.close();
    } finally {
      await vm[Symbol.asyncDispose]();
    }
  }
}

const work = mkdtempSync(join(tmpdir(), "strata-bench-image-"));
try {
  const image = bootOnly ?? (await buildBoth(work));
  await bootToSsh(work, image);
} finally {
  rmSync(work, { recursive: true, force: true });
}
