// Helpers for this package's unit tests (excluded from the build).
import { execa } from "execa";
import type { QemuArgvConfig } from "./argv.js";
import { listenQmp, type QmpClient } from "./qmp.js";

/**
 * Starts `qemu-system-x86_64` with no devices and no display, its QMP on the unix socket `sock`,
 * plus `args`; resolves once QEMU has connected to QMP. The caller kills `child`.
 */
export async function startBareQemu(
  sock: string,
  args: readonly string[],
): Promise<{ child: ReturnType<typeof execa>; qmp: QmpClient }> {
  const listener = await listenQmp(sock);
  const child = execa(
    "qemu-system-x86_64",
    ["-nodefaults", "-display", "none", "-qmp", `unix:${sock}`, ...args],
    { reject: false, stdin: "ignore" },
  );
  try {
    return { child, qmp: await listener.accept({ timeoutMs: 10_000 }) };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

/** A whole QemuArgvConfig for argv tests: x86_64 under TCG, one virtio disk, nothing else. */
export const ARGV_CONFIG: QemuArgvConfig = {
  arch: "x86_64",
  accel: "tcg",
  memoryMiB: 1024,
  cpus: 2,
  disk: { path: "/s/a,b.qcow2", interface: "virtio" },
  drives: [],
  cdroms: [],
  bootFromCdrom: false,
  boot: { mode: "disk" },
  firmware: "bios",
  hostSshPort: 40022,
  guestSshPort: 22,
  network: "restricted",
  serialLogPath: "/run/x/console.log",
  qmpSocketPath: "/run/x/qmp.sock",
  pidFilePath: "/run/x/qemu.pid",
  name: "debian",
  extraArgs: [],
};
