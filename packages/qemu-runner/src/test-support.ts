// Helpers for this package's unit tests (excluded from the build).
import { execa } from "execa";
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
