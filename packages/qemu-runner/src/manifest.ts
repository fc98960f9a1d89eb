import { readFile } from "node:fs/promises";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { ImageNoSshError, QemuError } from "./errors.js";
import { isJsonObject, type JsonObject, type JsonProblem, readJsonObject } from "./json-object.js";
import { type MachineDefinition, machineCpus, parseMachineDefinition } from "./machine.js";

export const GUEST_OSES = ["linux", "windows", "openbsd", "freebsd"] as const;
export const GUEST_ARCHES = ["x86_64", "aarch64", "riscv64"] as const;
export const DISK_INTERFACES = ["virtio", "ide", "nvme", "scsi"] as const;
export const FIRMWARES = ["bios", "uefi"] as const;
export const BOOT_MODES = ["disk", "kernel"] as const;

export type GuestOs = (typeof GUEST_OSES)[number];
export type GuestArch = (typeof GUEST_ARCHES)[number];
export type DiskInterface = (typeof DISK_INTERFACES)[number];
export type Firmware = (typeof FIRMWARES)[number];

/** Boot through firmware and a bootloader on the disk, or straight into a kernel. */
export type BootConfig =
  | { mode: "disk" }
  | { mode: "kernel"; kernel: string; initrd?: string | undefined; cmdline: string };

/** `ssh.hostKey`: one OpenSSH public key line (checked after trimming white space). */
export const HOST_KEY_LINE: RegExp =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+=*( .*)?$/;

/** `name`: letters, digits, `.`, `_`, `-`, not starting with a punctuation mark. */
export const IMAGE_NAME_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The largest `ssh.port`. */
export const MAX_PORT = 65535;
/** The most `cpus` QEMU gives a guest. */
export const MAX_CPUS = 512;

/** What the runner must know to boot a base image; paths are absolute once parsed. */
export interface ImageManifest {
  name: string;
  os: GuestOs;
  arch: GuestArch;
  boot: BootConfig;
  firmware: Firmware;
  disk: { interface: DiskInterface };
  /**
   * How strata logs in. `disabled` marks an image that has no SSH access yet (made by
   * `strata-image install` without `--ssh-user`; `"ssh": false` in its JSON): nothing boots it
   * for a build until its manifest says how to log in.
   */
  ssh: {
    user: string;
    port: number;
    privateKey?: string | undefined;
    disabled?: true | undefined;
    /**
     * The guest's SSH host public key recorded when the image was built (an OpenSSH line,
     * `ssh-ed25519 AAAA...`): a guest presenting another key is refused. Images without one
     * accept any host key, as before.
     */
    hostKey?: string | undefined;
  };
  shell: string[];
  memoryMiB: number;
  cpus: number;
  /** The virtual hardware the image was installed on; every boot uses it. @default none */
  machine?: MachineDefinition | undefined;
}

/** OBuilder's defaults. */
export const DEFAULT_SSH_USER = "opam";
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_MEMORY_MIB = 2048;
export const DEFAULT_CPUS = 2;

/** The default shell argv for a guest OS (the command is appended as the last argument). */
export function defaultShell(os: GuestOs): string[] {
  if (os === "windows") return ["cmd", "/S", "/C"];
  if (os === "linux") return ["/bin/bash", "-c"];
  return ["/bin/sh", "-c"];
}

/** The manifest an image without `<name>.json` gets. */
export function defaultManifest(
  name: string,
  os: GuestOs = "linux",
  arch: GuestArch = "x86_64",
): ImageManifest {
  return {
    name,
    os,
    arch,
    boot: { mode: "disk" },
    firmware: "bios",
    disk: { interface: "virtio" },
    ssh: { user: DEFAULT_SSH_USER, port: DEFAULT_SSH_PORT },
    shell: defaultShell(os),
    memoryMiB: DEFAULT_MEMORY_MIB,
    cpus: DEFAULT_CPUS,
  };
}

/** One problem in a manifest, placed by its JSON path (`boot.kernel`). */
export type ManifestProblem = JsonProblem;

export type ManifestResult =
  | { ok: true; manifest: ImageManifest }
  | { ok: false; problems: ManifestProblem[] };

export interface ParseManifestOptions {
  /** Directory that relative paths (kernel, initrd, privateKey) are resolved against. */
  dir: string;
}

/** Validates a manifest (JSON text or parsed value), listing every problem; fills OBuilder's defaults. */
export function parseImageManifest(json: unknown, options: ParseManifestOptions): ManifestResult {
  const problems: ManifestProblem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });
  const read = readJsonObject(json);
  if (!read.ok) return read;
  const raw = read.value;
  const file = (path: string, v: unknown): string => {
    if (typeof v !== "string" || v === "") {
      add(path, "must be a non-empty path");
      return "";
    }
    return isAbsolute(v) ? v : resolve(options.dir, v);
  };
  const oneOf = <T extends string>(path: string, v: unknown, allowed: readonly T[], def: T): T => {
    if (v === undefined) return def;
    if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
    add(path, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(v)})`);
    return def;
  };
  const positiveInt = (path: string, v: unknown, def: number, max = Number.MAX_SAFE_INTEGER) => {
    if (v === undefined) return def;
    if (typeof v === "number" && Number.isInteger(v) && v > 0 && v <= max) return v;
    add(path, `must be an integer from 1 to ${max} (got ${JSON.stringify(v)})`);
    return def;
  };
  const section = (path: string, v: unknown): JsonObject => {
    if (v === undefined) return {};
    if (isJsonObject(v)) return v;
    add(path, "must be an object");
    return {};
  };

  let name = "";
  if (typeof raw.name !== "string" || !IMAGE_NAME_PATTERN.test(raw.name)) {
    add("name", "must be a name of letters, digits, '.', '_' or '-'");
  } else name = raw.name;
  const os = oneOf("os", raw.os, GUEST_OSES, "linux");
  const arch = oneOf("arch", raw.arch, GUEST_ARCHES, "x86_64");
  const firmware = oneOf("firmware", raw.firmware, FIRMWARES, "bios");

  const bootRaw = section("boot", raw.boot);
  const mode = oneOf("boot.mode", bootRaw.mode, BOOT_MODES, "disk");
  let boot: BootConfig = { mode: "disk" };
  if (mode === "kernel") {
    const cmdline = bootRaw.cmdline ?? "";
    if (typeof cmdline !== "string") add("boot.cmdline", "must be a string");
    boot = {
      mode,
      kernel: file("boot.kernel", bootRaw.kernel),
      initrd: bootRaw.initrd === undefined ? undefined : file("boot.initrd", bootRaw.initrd),
      cmdline: typeof cmdline === "string" ? cmdline : "",
    };
  } else {
    for (const key of ["kernel", "initrd", "cmdline"]) {
      if (bootRaw[key] !== undefined) add(`boot.${key}`, 'only allowed with "mode": "kernel"');
    }
  }

  const diskRaw = section("disk", raw.disk);
  const diskInterface = oneOf("disk.interface", diskRaw.interface, DISK_INTERFACES, "virtio");
  const sshDisabled = raw.ssh === false;
  const sshRaw = sshDisabled ? {} : section("ssh", raw.ssh);
  let user = DEFAULT_SSH_USER;
  if (sshRaw.user !== undefined) {
    if (typeof sshRaw.user === "string" && sshRaw.user !== "") user = sshRaw.user;
    else add("ssh.user", "must be a non-empty string");
  }
  const port = positiveInt("ssh.port", sshRaw.port, DEFAULT_SSH_PORT, MAX_PORT);
  const privateKey =
    sshRaw.privateKey === undefined ? undefined : file("ssh.privateKey", sshRaw.privateKey);
  let hostKey: string | undefined;
  if (sshRaw.hostKey !== undefined) {
    if (typeof sshRaw.hostKey === "string" && HOST_KEY_LINE.test(sshRaw.hostKey.trim()))
      hostKey = sshRaw.hostKey.trim();
    else add("ssh.hostKey", "must be an OpenSSH public key line (ssh-ed25519 AAAA...)");
  }

  let shell = defaultShell(os);
  if (raw.shell !== undefined) {
    const ok =
      Array.isArray(raw.shell) &&
      raw.shell.length > 0 &&
      raw.shell.every((s) => typeof s === "string");
    if (ok) shell = raw.shell as string[];
    else add("shell", "must be a non-empty array of strings");
  }
  let machine: MachineDefinition | undefined;
  if (raw.machine !== undefined) {
    const parsed = parseMachineDefinition(raw.machine);
    if (parsed.ok) machine = parsed.machine;
    else for (const p of parsed.problems) add(`machine${p.path ? `.${p.path}` : ""}`, p.message);
  }
  const memoryMiB = positiveInt("memoryMiB", raw.memoryMiB, machine?.memory ?? DEFAULT_MEMORY_MIB);
  const cpus = positiveInt(
    "cpus",
    raw.cpus,
    (machine && machineCpus(machine)) ?? DEFAULT_CPUS,
    MAX_CPUS,
  );

  // Other fields (the image builder records its recipe, creation time...) are not ours to check.
  if (problems.length > 0) return { ok: false, problems };
  const manifest: ImageManifest = {
    name,
    os,
    arch,
    boot,
    firmware,
    disk: { interface: diskInterface },
    ssh: {
      user,
      port,
      privateKey,
      ...(sshDisabled ? { disabled: true as const } : {}),
      ...(hostKey ? { hostKey } : {}),
    },
    shell,
    memoryMiB,
    cpus,
    ...(machine ? { machine } : {}),
  };
  return { ok: true, manifest };
}

/** The manifest file that belongs to an image: `<dir>/<name>.json` beside `<dir>/<name>.qcow2`. */
export function manifestPathFor(imagePath: string): string {
  return join(dirname(imagePath), `${basename(imagePath, extname(imagePath))}.json`);
}

/** Reads and validates the manifest beside an image; OBuilder's defaults when there is none. */
export async function loadImageManifest(imagePath: string): Promise<ImageManifest> {
  const path = manifestPathFor(imagePath);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      return defaultManifest(basename(imagePath, extname(imagePath)));
    }
    throw e;
  }
  const result = parseImageManifest(text, { dir: dirname(path) });
  if (result.ok) return result.manifest;
  const lines = result.problems.map((p) => `${path}: ${p.path || "(root)"}: ${p.message}`);
  throw new QemuError("QEMU_INVALID_MANIFEST", `Invalid image manifest:\n  ${lines.join("\n  ")}`);
}

/** Throws {@link ImageNoSshError} for an image whose manifest says it has no SSH access. */
export function assertSshAccess(manifest: ImageManifest): void {
  if (manifest.ssh.disabled) throw new ImageNoSshError(manifest.name);
}
