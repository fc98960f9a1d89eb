import { QemuStateError } from "./errors.js";
import type { Vm } from "./vm.js";

interface BlockInfo {
  device: string;
  removable: boolean;
  inserted?: { file: string; "node-name": string };
}

/** Pauses the guest's CPUs; QEMU drains and flushes every disk first. */
export async function pauseVm(vm: Vm): Promise<void> {
  await vm.qmp.execute("stop");
}

/** Lets a paused guest run again (also after a completed state save: its disks come back). */
export async function continueVm(vm: Vm): Promise<void> {
  await vm.qmp.execute("cont");
}

let overlays = 0;

/**
 * Makes `overlay`, an existing empty qcow2 whose backing file is the root disk's current image,
 * the root disk's new top: from now on the guest writes there, and the old image is left as
 * it was at this instant. The overlay is opened without its backing file and then put on the
 * current top (`blockdev-snapshot`), so QEMU never reads its backing name and the relative one
 * the store wrote stays in its header; its file node keeps its page cache across state saves,
 * as the root disk's chain does (see keepPageCache). Pause the guest first when the old image
 * must match a quiesced file system.
 */
export async function snapshotRootDisk(vm: Vm, overlay: string): Promise<void> {
  const blocks = await vm.qmp.execute<BlockInfo[]>("query-block");
  // The root disk is the first fixed disk of the command line; hot-plugged disks have no name.
  const root = blocks.find((b) => b.inserted && !b.removable && b.device !== "");
  if (!root?.inserted) throw new QemuStateError("the VM has no root disk to snapshot");
  const nodeName = `strata-top-${++overlays}`;
  try {
    await vm.qmp.execute("blockdev-add", {
      driver: "qcow2",
      "node-name": nodeName,
      discard: "unmap",
      file: { driver: "file", filename: overlay, "drop-cache": false, discard: "unmap" },
      backing: null,
    });
  } catch (err) {
    throw new QemuStateError(`could not open ${overlay} in the VM: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    await vm.qmp.execute("blockdev-snapshot", {
      node: root.inserted["node-name"],
      overlay: nodeName,
    });
  } catch (err) {
    await vm.qmp.execute("blockdev-del", { "node-name": nodeName }).catch(() => {});
    throw new QemuStateError(
      `could not move the VM's root disk onto ${overlay}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
