import type { Accelerator } from "./argv.js";
import { isJsonObject, type JsonObject, type JsonProblem, readJsonObject } from "./json-object.js";

/**
 * A machine definition: the virtual hardware an image was installed on, so every later boot of
 * the image sees the same machine. It reads taskcluster-worker's `machine.json` (format version
 * 1) unchanged, and also the older nested form of its README (`network: {device, mac}`,
 * `keyboard: {layout}`). Every field is optional; an absent one keeps strata's default.
 */
export interface MachineDefinition {
  version: 1;
  /** SMBIOS system UUID (the guest's `/sys/class/dmi/id/product_uuid`). */
  uuid?: string | undefined;
  /** QEMU machine type, e.g. `pc-i440fx-2.8` (taskcluster's) or `q35`. */
  chipset?: string | undefined;
  /** `host` (KVM), emulated as `max` under TCG, which has no host CPU to pass through. */
  cpu?: string | undefined;
  /** CPU feature flags, `+flag` / `-flag` (a bare name means `+`). */
  flags?: string[] | undefined;
  threads?: number | undefined;
  cores?: number | undefined;
  sockets?: number | undefined;
  /** MiB. */
  memory?: number | undefined;
  usb?: string | undefined;
  /** Network card model. */
  network?: string | undefined;
  /** Locally administered unicast MAC address. */
  mac?: string | undefined;
  storage?: string | undefined;
  graphics?: string | undefined;
  vgaMemory?: number | undefined;
  sound?: string | undefined;
  keyboard?: string | undefined;
  /** VNC keyboard layout (QEMU's `-k`). */
  keyboardLayout?: string | undefined;
  mouse?: string | undefined;
  tablet?: string | undefined;
}

export type MachineProblem = JsonProblem;

export type MachineResult =
  | { ok: true; machine: MachineDefinition }
  | { ok: false; problems: MachineProblem[] };

/** Below this, no installer or kernel of interest boots. @default 128 */
const MIN_MACHINE_MEMORY_MIB = 128;

export const MACHINE_CHOICES = {
  usb: ["piix3-usb-uhci", "piix4-usb-uhci", "nec-usb-xhci", "qemu-xhci"],
  network: ["rtl8139", "e1000", "e1000e", "virtio-net-pci"],
  storage: ["virtio-blk-pci"],
  graphics: ["VGA", "vmware-svga", "qxl-vga", "virtio-vga"],
  sound: [
    "none",
    "AC97",
    "ES1370",
    "hda-duplex/intel-hda",
    "hda-micro/intel-hda",
    "hda-output/intel-hda",
    "hda-duplex/ich9-intel-hda",
    "hda-micro/ich9-intel-hda",
    "hda-output/ich9-intel-hda",
  ],
  keyboard: ["usb-kbd", "PS/2"],
  keyboardLayout: [
    ...["ar", "da", "de", "de-ch", "en-gb", "en-us", "es", "et", "fi", "fo", "fr", "fr-be"],
    ...["fr-ca", "fr-ch", "hr", "hu", "is", "it", "ja", "lt", "lv", "mk", "nl", "nl-be"],
    ...["no", "pl", "pt", "pt-br", "ru", "sl", "sv", "th", "tr"],
  ],
  mouse: ["usb-mouse", "PS/2"],
  tablet: ["usb-tablet", "none"],
} as const satisfies Record<string, readonly string[]>;

/** The string fields checked by pattern (also the JSON Schema's `pattern`s). */
export const MACHINE_PATTERNS = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  /** Locally administered (bit 1 of the first octet) unicast (bit 0 clear), as taskcluster asks. */
  mac: /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/,
  chipset: /^(pc|q35|pc-i440fx-\d+\.\d+|pc-q35-\d+\.\d+|virt(-\d+\.\d+)?)$/,
  cpu: /^(host|max|qemu64|[A-Za-z][A-Za-z0-9_.-]*)$/,
} as const;
const FLAG = /^[+-]?[a-z0-9][a-z0-9_.-]*$/;
/** One CPU flag of `flags`. */
export const MACHINE_FLAG_PATTERN: RegExp = FLAG;

/** The integer fields with their inclusive range (`memory` and `vgaMemory` in MiB). */
export const MACHINE_INT_RANGES = {
  threads: [1, 255],
  cores: [1, 255],
  sockets: [1, 255],
  memory: [MIN_MACHINE_MEMORY_MIB, 4 * 1024 * 1024],
  vgaMemory: [1, 1024],
} as const satisfies Record<string, readonly [number, number]>;

/** QEMU's limit on virtual CPUs, so on threads x cores x sockets. */
export const MAX_VCPUS = 512;

/** Fields taskcluster's format has that strata accepts and does not use. */
export const MACHINE_IGNORED_FIELDS = ["graphicsRam", "graphicsVRam"] as const;

/** Validates a machine definition (JSON text or value), listing every problem with its field. */
export function parseMachineDefinition(json: unknown): MachineResult {
  const read = readJsonObject(json);
  if (!read.ok) return read;
  const raw = read.value;
  const problems: MachineProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const m: MachineDefinition = { version: 1 };
  // The README's nested form, folded into version 1's flat fields.
  const flat: JsonObject = { ...raw };
  if (isJsonObject(raw.network)) {
    flat.network = raw.network.device;
    if (raw.network.mac !== undefined) flat.mac = raw.network.mac;
  }
  if (isJsonObject(raw.keyboard)) {
    flat.keyboard = undefined;
    if (raw.keyboard.layout !== undefined) flat.keyboardLayout = raw.keyboard.layout;
  }
  if (flat.version !== undefined && flat.version !== 1)
    add("version", `must be 1 (got ${JSON.stringify(flat.version)}); no other format exists`);
  const pattern = (key: keyof MachineDefinition, re: RegExp, what: string) => {
    const v = flat[key];
    if (v === undefined) return;
    if (typeof v === "string" && re.test(v)) (m as unknown as JsonObject)[key] = v;
    else add(key, `must be ${what} (got ${JSON.stringify(v)})`);
  };
  const { uuid, mac, chipset, cpu } = MACHINE_PATTERNS;
  pattern("uuid", uuid, "a lower-case UUID such as 52bab607-10f1-4049-a0f8-ee4725cb715b");
  pattern("mac", mac, "a locally administered unicast MAC such as aa:54:1a:30:5c:de");
  pattern("chipset", chipset, "a QEMU machine type such as pc-i440fx-2.8, pc or q35");
  pattern("cpu", cpu, "a QEMU CPU model such as host or max");
  for (const key of Object.keys(MACHINE_CHOICES) as (keyof typeof MACHINE_CHOICES)[]) {
    const v = flat[key];
    if (v === undefined) continue;
    const allowed: readonly string[] = MACHINE_CHOICES[key];
    if (typeof v === "string" && allowed.includes(v)) (m as unknown as JsonObject)[key] = v;
    else add(key, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(v)})`);
  }
  const int = (key: keyof MachineDefinition, min: number, max: number, unit = "") => {
    const v = flat[key];
    if (v === undefined) return;
    if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max)
      (m as unknown as JsonObject)[key] = v;
    else add(key, `must be an integer from ${min} to ${max}${unit} (got ${JSON.stringify(v)})`);
  };
  for (const [key, [min, max]] of Object.entries(MACHINE_INT_RANGES)) {
    int(key as keyof MachineDefinition, min, max, key.endsWith("emory") ? " MiB" : "");
  }
  if (flat.flags !== undefined) {
    if (Array.isArray(flat.flags) && flat.flags.every((f) => typeof f === "string" && FLAG.test(f)))
      m.flags = flat.flags as string[];
    else add("flags", "must be a list of CPU flags such as +avx2 or -x2apic");
  }
  const known = new Set([
    "version",
    ...Object.keys(MACHINE_CHOICES),
    ...Object.keys(MACHINE_PATTERNS),
    ...Object.keys(MACHINE_INT_RANGES),
    "flags",
    ...MACHINE_IGNORED_FIELDS,
  ]);
  for (const key of Object.keys(flat))
    if (!known.has(key)) add(key, "is not a field of a machine definition (version 1)");
  const cpus = (m.threads ?? 1) * (m.cores ?? 1) * (m.sockets ?? 1);
  if (cpus > MAX_VCPUS)
    add("threads", `threads x cores x sockets is ${cpus}, more than QEMU's ${MAX_VCPUS}`);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, machine: m };
}

/** The number of virtual CPUs a definition asks for, if it says. */
export function machineCpus(m: MachineDefinition): number | undefined {
  if (m.threads === undefined && m.cores === undefined && m.sockets === undefined) return undefined;
  return (m.threads ?? 1) * (m.cores ?? 1) * (m.sockets ?? 1);
}

/** The `-cpu` value: `host` cannot run under TCG, which gets `max` with the same flags. */
export function machineCpuModel(m: MachineDefinition, accel: Accelerator): string | undefined {
  if (m.cpu === undefined && !m.flags?.length) return undefined;
  const model = m.cpu === undefined || (m.cpu === "host" && accel !== "kvm") ? "max" : m.cpu;
  const flags = (m.flags ?? []).map((f) => (/^[+-]/.test(f) ? f : `+${f}`));
  return [model, ...flags].join(",");
}

/** `-smp` with the definition's topology when it gives one and it matches `cpus`. */
export function machineSmp(m: MachineDefinition, cpus: number): string {
  if (machineCpus(m) !== cpus) return String(cpus);
  return `${cpus},sockets=${m.sockets ?? 1},cores=${m.cores ?? 1},threads=${m.threads ?? 1}`;
}

/**
 * The devices of a definition beyond what `buildQemuArgv` always adds (disk, network, serial):
 * system UUID, USB controller and input devices, sound, graphics and VNC keyboard layout. Pure.
 */
export function machineDeviceArgs(m: MachineDefinition): string[] {
  const args: string[] = [];
  if (m.uuid) args.push("-uuid", m.uuid);
  const usbInput = [m.keyboard, m.mouse, m.tablet].filter((d) => d?.startsWith("usb-"));
  if (m.usb || usbInput.length > 0) args.push("-device", `${m.usb ?? "qemu-xhci"},id=usb0`);
  for (const d of usbInput) args.push("-device", `${d},bus=usb0.0`);
  if (m.sound && m.sound !== "none") {
    args.push("-audiodev", "none,id=snd0");
    const [codec, controller] = m.sound.split("/");
    if (controller)
      args.push("-device", `${controller},id=hda0`, "-device", `${codec},audiodev=snd0`);
    else args.push("-device", `${codec},audiodev=snd0`);
  }
  // Present whether or not a display shows it: the guest must see the same hardware on every boot.
  if (m.graphics) {
    const vgamem = m.vgaMemory ? `,vgamem_mb=${m.vgaMemory}` : "";
    args.push("-device", `${m.graphics}${m.graphics === "vmware-svga" ? "" : vgamem}`);
  }
  if (m.keyboardLayout) args.push("-k", m.keyboardLayout);
  return args;
}
