import { QemuHotplugError } from "./errors.js";
import type { QmpEvent } from "./qmp.js";
import type { Vm } from "./vm.js";

/** PCIe root ports added to every VM that may get drives while running (q35 and virt). @default 4 */
export const HOTPLUG_PORTS = 4;

/** QEMU arguments for {@link HOTPLUG_PORTS} empty PCIe root ports, `strata-hp0`... */
export function hotplugPortArgs(count = HOTPLUG_PORTS): string[] {
  return Array.from({ length: count }, (_, i) => [
    "-device",
    `pcie-root-port,id=strata-hp${i},chassis=${40 + i},slot=${i}`,
  ]).flat();
}

export interface HotplugDrive {
  path: string;
  /** @default "qcow2" */
  format?: "qcow2" | "raw";
  /** @default false */
  readOnly?: boolean;
  /** What the guest sees: /dev/disk/by-id/virtio-<serial>. */
  serial: string;
}

const node = (port: number) => `strata-hd${port}`;
const device = (port: number) => `strata-hd${port}-dev`;

/**
 * Plugs a virtio disk into root port `port` of a running VM. Starting every VM with the same
 * devices and plugging drives afterwards keeps the device set of a saved state independent of
 * the drives a step needs.
 */
export async function hotAddDrive(vm: Vm, port: number, drive: HotplugDrive): Promise<void> {
  const readOnly = drive.readOnly ?? false;
  try {
    await vm.qmp.execute("blockdev-add", {
      "node-name": node(port),
      driver: drive.format ?? "qcow2",
      "read-only": readOnly,
      ...(readOnly ? {} : { discard: "unmap" }),
      file: { driver: "file", filename: drive.path, "read-only": readOnly },
    });
    await vm.qmp.execute("device_add", {
      driver: "virtio-blk-pci",
      id: device(port),
      drive: node(port),
      bus: `strata-hp${port}`,
      serial: drive.serial,
    });
  } catch (err) {
    throw new QemuHotplugError(
      `could not plug ${drive.path} into the VM: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Unplugs the disk in root port `port` (the guest must have unmounted it) and closes its file. */
export async function hotRemoveDrive(vm: Vm, port: number, timeoutMs = 30_000): Promise<void> {
  try {
    // The guest acknowledges the unplug (ACPI eject); only then is the node free. QEMU also
    // reports the virtio backend's deletion, so wait for this device's own event.
    const deleted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`no DEVICE_DELETED within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      const onEvent = (e: QmpEvent) =>
        e.event === "DEVICE_DELETED" && e.data?.device === device(port) && done();
      const done = (err?: Error) => {
        clearTimeout(timer);
        vm.qmp.off("event", onEvent);
        err ? reject(err) : resolve();
      };
      vm.qmp.on("event", onEvent);
    });
    deleted.catch(() => {});
    await vm.qmp.execute("device_del", { id: device(port) });
    await deleted;
    await vm.qmp.execute("blockdev-del", { "node-name": node(port) });
  } catch (err) {
    throw new QemuHotplugError(
      `could not unplug drive ${port} from the VM: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
