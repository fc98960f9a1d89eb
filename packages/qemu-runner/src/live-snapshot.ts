import { QemuStateError } from "./errors.js";
import type { Vm } from "./vm.js";

interface BlockInfo {
  device: string;
  removable: boolean;
  inserted?: { file: string };
}

/** Pauses the guest's CPUs; QEMU drains and flushes every disk first. */
export async function pauseVm(vm: Vm): Promise<void> {
  await vm.qmp.execute("stop");
}

/** Lets a paused guest run again (also after a completed state save: its disks come back). */
export async function continueVm(vm: Vm): Promise<void> {
  await vm.qmp.execute("cont");
}

/**
 * Makes `overlay`, an existing empty qcow2 whose backing file is the root disk's current image,
 * the root disk's new top: from now on the guest writes there, and the old image is left as
 * it was at this instant. QEMU opens the overlay without reading its backing name (mode
 * "existing"), so the relative name the store wrote stays in its header. Pause the guest
 * first when the old image must match a quiesced file system.
 */
export async function snapshotRootDisk(vm: Vm, overlay: string): Promise<void> {
  const blocks = await vm.qmp.execute<BlockInfo[]>("query-block");
  // The root disk is the first fixed disk of the command line; hot-plugged disks have no name.
  const root = blocks.find((b) => b.inserted && !b.removable && b.device !== "");
  if (!root) throw new QemuStateError("the VM has no root disk to snapshot");
  try {
    await vm.qmp.execute("blockdev-snapshot-sync", {
      device: root.device,
      "snapshot-file": overlay,
      format: "qcow2",
      mode: "existing",
    });
  } catch (err) {
    throw new QemuStateError(
      `could not move the VM's root disk onto ${overlay}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
