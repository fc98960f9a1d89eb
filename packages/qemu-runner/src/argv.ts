import {
  type MachineDefinition,
  machineCpuModel,
  machineDeviceArgs,
  machineSmp,
} from "./machine.js";
import type { BootConfig, DiskInterface, Firmware, GuestArch } from "./manifest.js";

export type Accelerator = "kvm" | "tcg";
export type NetworkMode = "restricted" | "host";

/** A disk attached beside the root disk (e.g. a cache disk). */
export interface DriveSpec {
  path: string;
  /** @default "qcow2" */
  format?: "qcow2" | "raw";
  /** @default the root disk's interface */
  interface?: DiskInterface;
  /** @default false */
  readOnly?: boolean;
  /** Disk serial the guest sees (virtio: /dev/disk/by-id/virtio-<serial>), so it can find the drive. */
  serial?: string;
  /**
   * How many backing files lie under a writable image (see backingChainDepth): each of their
   * file nodes keeps its host page cache across a state save or load, as the image's own does.
   * @default 0
   */
  backingDepth?: number;
}

/**
 * A guest TCP address answered by the host (slirp's `guestfwd`): each connection the guest opens
 * to `address:port` goes to `to`, a QEMU chardev spec. Prefer `cmd:PROGRAM ARGS` (run once per
 * connection) over `tcp:HOST:PORT`: in QEMU 7.2 a tcp chardev is one connection made at start-up,
 * which every guest connection would share. Allowed with `restrict=on`; the address must lie
 * inside slirp's network (10.0.2.0/24 by default), or QEMU refuses to start.
 */
export interface GuestForward {
  address: string;
  port: number;
  to: string;
}

/** Everything the QEMU command line depends on, already resolved: no defaults are applied here. */
export interface QemuArgvConfig {
  arch: GuestArch;
  accel: Accelerator;
  /** Machine type; `undefined` picks q35 (x86_64) or virt (aarch64, riscv64). */
  machine?: string | undefined;
  memoryMiB: number;
  cpus: number;
  disk: DriveSpec & { interface: DiskInterface };
  drives: readonly DriveSpec[];
  cdroms: readonly string[];
  /** Boot from the first CD before the disk (x86_64 installs). */
  bootFromCdrom: boolean;
  boot: BootConfig;
  firmware: Firmware;
  /** Firmware image; `undefined` picks the distribution's default for the arch. */
  firmwarePath?: string | undefined;
  hostSshPort: number;
  guestSshPort: number;
  network: NetworkMode;
  /** @default [] */
  guestForwards?: readonly GuestForward[] | undefined;
  /** @default "virtio-net-pci" */
  nicModel?: string | undefined;
  /** The image's machine definition (UUID, chipset, CPU, NIC and MAC, USB, sound, graphics). */
  hardware?: MachineDefinition | undefined;
  serialLogPath: string;
  qmpSocketPath: string;
  pidFilePath: string;
  /** VNC display number on 127.0.0.1 (port 5900 + n); `undefined` for no display. */
  vncDisplay?: number | undefined;
  name: string;
  extraArgs: readonly string[];
}

/** Where Debian's packages put firmware images (ovmf, qemu-efi-aarch64, u-boot-qemu). */
const DEFAULT_FIRMWARE_PATHS = {
  x86_64: "/usr/share/ovmf/OVMF.fd",
  aarch64: "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
  riscv64: "/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf",
} as const satisfies Record<GuestArch, string>;

/** QEMU option values are comma-separated: a literal comma is written twice. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(",", ",,");
}

export function qemuBinary(arch: GuestArch): string {
  return `qemu-system-${arch}`;
}

function defaultMachine(arch: GuestArch, accel: Accelerator): string {
  if (arch === "x86_64") return "q35";
  // GICv3 emulated under TCG; with KVM the host's GIC version must be used.
  if (arch === "aarch64") return accel === "kvm" ? "virt,gic-version=host" : "virt,gic-version=max";
  return "virt";
}

function cpuArgs(arch: GuestArch, accel: Accelerator): string[] {
  if (accel === "kvm") return ["-cpu", "host"];
  // QEMU 7.2 has no riscv64 "max" CPU; its default rv64 has the usual extensions.
  if (arch === "riscv64") return [];
  // Emulating the architected pointer-authentication cipher (QARMA5) is costly under TCG, and an
  // arm64 kernel signs every return address; QEMU's own cheap algorithm is as good to a guest.
  return arch === "aarch64" ? ["-cpu", "max,pauth-impdef=on"] : ["-cpu", "max"];
}

/**
 * drop-cache=off on the image's file node and on each backing file's: when a migration ends
 * (a state saved, the guest let run again; a state loaded) QEMU otherwise fsyncs every file of
 * the chain and drops its host page cache, so that another host sharing the storage reads
 * fresh data. Here the same host reads it, through the same page cache: the drop only made the
 * guest's next reads, the store's and the next VM's go to the disk (a 1 GiB base image fell
 * from 150 MiB cached to 86 KiB at every state save).
 */
function keepPageCache(depth: number): string {
  let options = ",file.drop-cache=off";
  for (let level = 1; level <= depth; level++)
    options += `,${"backing.".repeat(level)}file.drop-cache=off`;
  return options;
}

function driveArgs(drive: DriveSpec, iface: DiskInterface, id: string): string[] {
  // auto-read-only=off: -drive turns it on, and then QEMU reopens an image read-only *by its
  // path* once nothing writes it (a layer under a live snapshot, when a state save hands the
  // disks over); the store has renamed that layer's directory by then, so the reopen failed
  // and with it every state save (`bdrv_inactivate_all() failed`). The open descriptor stays.
  const base = `file=${escapeOptionValue(drive.path)},format=${drive.format ?? "qcow2"}${
    drive.readOnly ? ",readonly=on" : `,auto-read-only=off${keepPageCache(drive.backingDepth ?? 0)}`
  }`;
  switch (iface) {
    case "virtio": {
      // Always an explicit device: QEMU realises if=virtio drives after every -device, so an
      // extra disk given as a device would become /dev/vda and the root disk /dev/vdb.
      // Explicit devices are created in command-line order, root disk first.
      const serial = drive.serial ? `,serial=${escapeOptionValue(drive.serial)}` : "";
      return [
        "-drive",
        `${base},if=none,id=${id},discard=unmap`,
        "-device",
        `virtio-blk-pci,drive=${id}${serial}`,
      ];
    }
    case "ide":
      return ["-drive", `${base},if=${iface},discard=unmap`];
    case "nvme":
      return ["-drive", `${base},if=none,id=${id}`, "-device", `nvme,drive=${id},serial=${id}`];
    case "scsi":
      return ["-drive", `${base},if=none,id=${id}`, "-device", `scsi-hd,drive=${id},bus=scsi0.0`];
  }
}

function firmwareArgs(c: QemuArgvConfig): string[] {
  const path = c.firmwarePath ?? DEFAULT_FIRMWARE_PATHS[c.arch];
  if (c.arch === "x86_64") return c.firmware === "uefi" ? ["-bios", path] : [];
  if (c.arch === "aarch64") return c.boot.mode === "disk" ? ["-bios", path] : [];
  // riscv64: OpenSBI as M-mode firmware; disk boot goes through U-Boot as the S-mode "kernel".
  return c.boot.mode === "disk" ? ["-bios", "default", "-kernel", path] : ["-bios", "default"];
}

function bootArgs(c: QemuArgvConfig): string[] {
  const boot = c.boot;
  if (boot.mode === "disk") return [];
  return [
    "-kernel",
    boot.kernel,
    ...(boot.initrd ? ["-initrd", boot.initrd] : []),
    "-append",
    kernelCmdline(c.arch, c.accel, boot.cmdline),
  ];
}

// Under TCG on a loaded host, an x86 kernel's early check that the IO-APIC timer ticks can miss
// the ticks and panic ("IO-APIC + timer doesn't work!", seen at load 13 here); the check means
// nothing for QEMU's emulated timer, so it is skipped, as virtual-machine images commonly do.
function kernelCmdline(arch: GuestArch, accel: Accelerator, cmdline: string): string {
  if (arch !== "x86_64" || accel === "kvm" || /(^|\s)no_timer_check(\s|$)/.test(cmdline))
    return cmdline;
  return `${cmdline} no_timer_check`.trim();
}

function cdromArgs(c: QemuArgvConfig): string[] {
  return c.cdroms.flatMap((path, i) => {
    const file = `file=${escapeOptionValue(path)},media=cdrom,readonly=on`;
    // x86 machines have a built-in IDE/AHCI controller; the virt boards have none.
    if (c.arch === "x86_64") return ["-drive", `${file},if=ide`];
    return ["-drive", `${file},if=none,id=cd${i}`, "-device", `scsi-cd,drive=cd${i},bus=scsi0.0`];
  });
}

/** Builds the full QEMU argv (binary first) for one VM. Pure: same config, same argv. */
export function buildQemuArgv(c: QemuArgvConfig): string[] {
  const argv = [qemuBinary(c.arch), "-name", `guest=${escapeOptionValue(c.name)}`];
  argv.push("-no-user-config", "-nodefaults");
  const hw = c.hardware;
  argv.push("-machine", c.machine ?? hw?.chipset ?? defaultMachine(c.arch, c.accel));
  argv.push("-accel", c.accel === "kvm" ? "kvm" : "tcg,thread=multi");
  const cpuModel = hw && machineCpuModel(hw, c.accel);
  argv.push(...(cpuModel ? ["-cpu", cpuModel] : cpuArgs(c.arch, c.accel)));
  argv.push("-m", String(c.memoryMiB), "-smp", hw ? machineSmp(hw, c.cpus) : String(c.cpus));
  argv.push(...firmwareArgs(c), ...bootArgs(c));
  const ifaces = [c.disk.interface, ...c.drives.map((d) => d.interface ?? c.disk.interface)];
  if (ifaces.includes("scsi") || (c.arch !== "x86_64" && c.cdroms.length > 0)) {
    argv.push("-device", "virtio-scsi-pci,id=scsi0");
  }
  argv.push(...driveArgs(c.disk, c.disk.interface, "disk0"));
  c.drives.forEach((d, i) => {
    argv.push(...driveArgs(d, d.interface ?? c.disk.interface, `disk${i + 1}`));
  });
  argv.push(...cdromArgs(c));
  if (c.bootFromCdrom && c.arch === "x86_64") argv.push("-boot", "order=dc");
  const fwd = `hostfwd=tcp:127.0.0.1:${c.hostSshPort}-:${c.guestSshPort}`;
  const restrict = c.network === "restricted" ? ",restrict=on" : "";
  const guestfwd = (c.guestForwards ?? [])
    .map((g) => `,guestfwd=tcp:${g.address}:${g.port}-${escapeOptionValue(g.to)}`)
    .join("");
  argv.push("-netdev", `user,id=net0,${fwd}${guestfwd}${restrict}`);
  const mac = hw?.mac ? `,mac=${hw.mac}` : "";
  argv.push("-device", `${hw?.network ?? c.nicModel ?? "virtio-net-pci"},netdev=net0${mac}`);
  // Entropy for the guest: sshd's key generation otherwise stalls under TCG.
  argv.push("-device", "virtio-rng-pci");
  argv.push("-chardev", `file,id=serial0,path=${escapeOptionValue(c.serialLogPath)}`);
  argv.push("-serial", "chardev:serial0");
  // QEMU connects to our socket (client mode): no race waiting for QEMU to create it.
  argv.push("-chardev", `socket,id=qmp,path=${escapeOptionValue(c.qmpSocketPath)}`);
  argv.push("-mon", "chardev=qmp,mode=control");
  argv.push("-pidfile", c.pidFilePath);
  if (hw) argv.push(...machineDeviceArgs(hw));
  if (c.vncDisplay !== undefined) {
    if (!hw?.graphics) argv.push("-device", c.arch === "x86_64" ? "VGA" : "virtio-gpu-pci");
    argv.push("-vnc", `127.0.0.1:${c.vncDisplay}`);
  } else {
    // -nographic (not -display none) makes SeaBIOS print to the serial port too.
    argv.push("-nographic");
  }
  argv.push(...c.extraArgs);
  return argv;
}
