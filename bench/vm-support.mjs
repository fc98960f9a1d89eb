// Shared by the bench/vm-*.mjs benchmarks: boots the cached Debian test image on a throwaway
// overlay and opens SSH, with only the two runner packages (built: `pnpm build`).
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { loadImageManifest, startVm } from "../packages/qemu-runner/dist/index.js";
import { waitForSsh } from "../packages/ssh-transport/dist/index.js";

/**
 * The directory of a cached test image (`NAME-<recipe key>`, built by test/support/base-image.mjs):
 * for the default image $STRATA_TEST_IMAGE_DIR if set, else the newest cached one.
 */
export function imageDir(name = "debian-bookworm") {
  if (name === "debian-bookworm" && process.env.STRATA_TEST_IMAGE_DIR)
    return process.env.STRATA_TEST_IMAGE_DIR;
  const root = join(
    process.env.XDG_CACHE_HOME || join(homedir(), ".cache"),
    "strata",
    "base-images",
  );
  const dirs = readdirSync(root)
    .filter((d) => d.startsWith(`${name}-`) && /^[0-9a-f]{16}$/.test(d.slice(name.length + 1)))
    .map((d) => join(root, d))
    .filter((d) => {
      try {
        return statSync(join(d, `${name}.qcow2`)).isFile();
      } catch {
        return false;
      }
    })
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!dirs[0])
    throw new Error(
      `no ${name} test image: run \`node test/support/base-image.mjs ${name}\` first`,
    );
  return dirs[0];
}

/** A new store directory under the temp dir whose base-image/ links the test image's files. */
export function freshStore(prefix) {
  const root = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(root, "base-image"));
  for (const f of readdirSync(imageDir()))
    if (f.startsWith("debian-bookworm."))
      linkSync(join(imageDir(), f), join(root, "base-image", f));
  return root;
}

/** Boots, waits for SSH; returns { vm, ssh, manifest, dir, bootMs, sshMs, close }. */
export async function bootDebian(name = "debian-bookworm") {
  const base = join(imageDir(name), `${name}.qcow2`);
  const dir = await mkdtemp(join(tmpdir(), "strata-bench-"));
  const overlay = join(dir, "overlay.qcow2");
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, overlay]);
  const manifest = await loadImageManifest(base);
  const started = performance.now();
  const vm = await startVm({ image: overlay, manifest });
  const qmpMs = performance.now() - started;
  const ssh = await waitForSsh({
    port: vm.sshPort,
    username: manifest.ssh.user,
    privateKey: { path: manifest.ssh.privateKey },
    shell: manifest.shell,
    signal: vm.signal,
    diagnostics: () => vm.consoleTail(),
  });
  const sshMs = performance.now() - started;
  const close = async () => {
    await ssh.close();
    await vm.shutdown({ timeoutMs: 60_000 });
    await vm[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  };
  return { vm, ssh, manifest, dir, qmpMs, sshMs, close };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
