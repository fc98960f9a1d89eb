// Boots a base image and runs one command in it, using only @strata/qemu-runner and
// @strata/ssh-transport, as another tool would. Build the packages first (`pnpm build`).
//
//   node examples/boot-and-run.mjs ~/.cache/strata/base-images/debian-bookworm-*/debian-bookworm.qcow2 'uname -a'
//
// The base image is never written: the VM boots a throwaway qcow2 overlay on it.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
// In your own project: from "@strata/qemu-runner" and "@strata/ssh-transport".
import { loadImageManifest, startVm } from "../packages/qemu-runner/dist/index.js";
import { waitForSsh } from "../packages/ssh-transport/dist/index.js";

const [image, command = "uname -a"] = process.argv.slice(2);
if (!image) {
  console.error("usage: node examples/boot-and-run.mjs IMAGE.qcow2 [COMMAND]");
  process.exit(2);
}
const base = resolve(image);
const dir = await mkdtemp(join(tmpdir(), "boot-and-run-"));
try {
  const overlay = join(dir, "overlay.qcow2");
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, overlay]);
  const manifest = await loadImageManifest(base); // <name>.json beside the image, or defaults
  const vm = await startVm({
    image: overlay,
    manifest,
    onEvent: (e) => e.type === "warning" && console.error(`warning: ${e.message}`),
  });
  // Node 20 has no `await using` syntax (TypeScript compiles it): dispose by hand.
  try {
    console.error(
      `QEMU ${vm.pid} (${vm.accel}), SSH on 127.0.0.1:${vm.sshPort}, console ${vm.serialLogPath}`,
    );
    const ssh = await waitForSsh({
      port: vm.sshPort,
      username: manifest.ssh.user,
      privateKey: {
        path: manifest.ssh.privateKey ?? join(process.env.HOME ?? "", ".ssh/id_ed25519"),
      },
      shell: manifest.shell,
      signal: vm.signal, // QEMU dying during boot rejects with its console tail
      diagnostics: () => vm.consoleTail(),
    });
    const result = await ssh.exec(command, {
      onStdout: (chunk) => process.stdout.write(chunk),
      onStderr: (chunk) => process.stderr.write(chunk),
    });
    await ssh.close();
    const down = await vm.shutdown({ timeoutMs: 60_000 });
    console.error(
      `exit ${result.exitCode ?? result.signal}; powered off ${down.graceful ? "by ACPI" : "by force"}`,
    );
    process.exitCode = result.exitCode ?? 1;
  } finally {
    await vm[Symbol.asyncDispose](); // kills QEMU if anything above failed
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
