import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  defaultShell,
  type GuestOs,
  type ImageManifest,
  type MachineDefinition,
  type NetworkMode,
  parseImageManifest,
  parseMachineDefinition,
  startVm,
} from "@strata/qemu-runner";
import { readFileTail } from "@strata/qemu-runner/internal";
import { FirstBootError, ImageInputError } from "./errors.js";
import { assertImageAbsent, copyImageKey, saveImage } from "./image-files.js";
import { writeIso } from "./iso.js";
import type { ImageProgressListener } from "./progress.js";
import { runTool } from "./run-tool.js";
import { createWorkDir } from "./work-dir.js";

/** Volume label of the optional second CD (an answer file, drivers...). */
export const INSTALL_CD_LABEL = "strata-install";
/** @default 7_200_000: two hours; an installer under TCG is slow. */
export const DEFAULT_INSTALL_TIMEOUT_MS = 7_200_000;
/** @default 2048 GiB */
const MAX_INSTALL_SIZE_GIB = 2048;
/** machine.json is a few hundred bytes; anything near this is not one. @default 1 MiB */
export const MAX_MACHINE_FILE_BYTES = 1024 * 1024;

/** How the installed system is logged in to, when its installer set that up. */
export interface InstalledSsh {
  user: string;
  /** @default 22 */
  port?: number | undefined;
  /** A private key file the installer authorised; copied beside the image as `<name>.key`. */
  privateKeyPath?: string | undefined;
}

export interface InstallImageOptions {
  /** The store's `base-image/` directory, receiving NAME. */
  baseImageDir: string;
  name: string;
  /** The installer ISO, booted first. */
  bootIso: string;
  /** Size of the blank disk, GiB. */
  sizeGiB: number;
  /** A machine definition file (taskcluster's machine.json, version 1). @default none */
  machineFile?: string | undefined;
  /** A directory burnt onto a second CD (label {@link INSTALL_CD_LABEL}). */
  cdDir?: string | undefined;
  /** Serve the display on 127.0.0.1 over VNC, for installs done by hand. @default false */
  vnc?: boolean | undefined;
  /** @default DEFAULT_INSTALL_TIMEOUT_MS */
  timeoutMs?: number | undefined;
  /** @default "restricted" */
  network?: NetworkMode | undefined;
  /** Guest OS the installer installs. @default "linux" */
  os?: GuestOs | undefined;
  /** @default "bios" */
  firmware?: "bios" | "uefi" | undefined;
  /** Without it the image records `"ssh": false` until its manifest says how to log in. */
  ssh?: InstalledSsh | undefined;
  cacheDir?: string | undefined;
  onProgress?: ImageProgressListener | undefined;
  signal?: AbortSignal | undefined;
}

export interface InstalledImage {
  name: string;
  image: string;
  manifestPath: string;
  /** Wall time from QEMU's start to the guest's power-off. */
  installMs: number;
}

/** Reads and validates a machine definition file; every problem is listed with its field. */
async function readMachineFile(path: string): Promise<MachineDefinition> {
  const s = await stat(path).catch(() => undefined);
  if (!s?.isFile()) throw new ImageInputError(`--machine ${path}: no such file`);
  if (s.size > MAX_MACHINE_FILE_BYTES)
    throw new ImageInputError(`--machine ${path}: ${s.size} bytes is too large for a machine.json`);
  const parsed = parseMachineDefinition(await readFile(path, "utf8"));
  if (parsed.ok) return parsed.machine;
  const lines = parsed.problems.map((p) => `${p.path || "(root)"}: ${p.message}`);
  throw new ImageInputError(
    `--machine ${path} is not a valid machine definition:\n  ${lines.join("\n  ")}`,
  );
}

/** The manifest JSON of an installed image (relative file names, so the set can move). */
export function installedManifestJson(
  name: string,
  o: Pick<InstallImageOptions, "os" | "firmware" | "ssh">,
  machine: MachineDefinition | undefined,
  keyFile: string | undefined,
): Record<string, unknown> {
  const os = o.os ?? "linux";
  const ssh = o.ssh
    ? { user: o.ssh.user, port: o.ssh.port ?? 22, ...(keyFile ? { privateKey: keyFile } : {}) }
    : false;
  return {
    name,
    os,
    arch: "x86_64",
    boot: { mode: "disk" },
    firmware: o.firmware ?? "bios",
    disk: { interface: "virtio" },
    ssh,
    shell: defaultShell(os),
    ...(machine ? { machine } : {}),
  };
}

function checkOptions(o: InstallImageOptions): void {
  if (!Number.isInteger(o.sizeGiB) || o.sizeGiB < 1 || o.sizeGiB > MAX_INSTALL_SIZE_GIB)
    throw new ImageInputError(
      `--size ${o.sizeGiB}: give the disk size in whole GiB, from 1 to ${MAX_INSTALL_SIZE_GIB}`,
    );
  if (o.timeoutMs !== undefined && !(o.timeoutMs > 0))
    throw new ImageInputError("--timeout must be a positive number of seconds");
  if (o.ssh && !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(o.ssh.user))
    throw new ImageInputError(`--ssh-user "${o.ssh.user}" is not a user name`);
}

/**
 * Creates a blank qcow2 of `sizeGiB`, boots it from `bootIso` (and a second CD made from
 * `cdDir`) on the machine `machineFile` defines, waits for the guest to power off and saves the
 * disk as base image NAME with a manifest recording the machine, so every later boot uses it.
 * A timeout, a crash or Ctrl-C leaves nothing: the work directory is removed and QEMU killed.
 */
export async function installImage(o: InstallImageOptions): Promise<InstalledImage> {
  checkOptions(o);
  const dir = resolve(o.baseImageDir);
  await assertImageAbsent(dir, o.name);
  const iso = resolve(o.bootIso);
  if (!(await stat(iso).catch(() => undefined))?.isFile())
    throw new ImageInputError(`--boot ${o.bootIso}: no such file; give the installer ISO`);
  if (o.cdDir && !(await stat(o.cdDir).catch(() => undefined))?.isDirectory())
    throw new ImageInputError(`--cd ${o.cdDir}: no such directory`);
  if (o.ssh?.privateKeyPath && !(await stat(o.ssh.privateKeyPath).catch(() => undefined)))
    throw new ImageInputError(`--ssh-key ${o.ssh.privateKeyPath}: no such file`);
  const machine = o.machineFile ? await readMachineFile(o.machineFile) : undefined;
  const progress = o.onProgress;
  const signal = o.signal;
  await mkdir(dir, { recursive: true });
  const work = join(dir, `.install-${o.name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const disk = join(work, `${o.name}.qcow2`);
    await runTool("qemu-img", ["create", "-q", "-f", "qcow2", disk, `${o.sizeGiB}G`], {
      stage: "disk",
      signal,
    });
    const cdroms = [iso];
    if (o.cdDir) {
      const cd = join(work, "install-cd.iso");
      await writeIso({
        outPath: cd,
        volumeLabel: INSTALL_CD_LABEL,
        sourceDir: o.cdDir,
        ...(signal ? { signal } : {}),
      });
      cdroms.push(cd);
    }
    const keyFile = o.ssh?.privateKeyPath
      ? await copyImageKey(o.ssh.privateKeyPath, work, o.name)
      : undefined;
    const json = installedManifestJson(o.name, o, machine, keyFile);
    const parsed = parseImageManifest(json, { dir: work });
    if (!parsed.ok)
      throw new ImageInputError(
        `the manifest for ${o.name} is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`,
      );
    const installMs = await runInstaller(parsed.manifest, disk, cdroms, work, o);
    const saved = await saveImage(
      work,
      dir,
      o.name,
      { ...json, installedFrom: iso, created: new Date().toISOString() },
      keyFile ? [keyFile] : [],
    );
    progress?.({ type: "stage", stage: "done", message: `wrote ${saved.image}` });
    return { ...saved, installMs };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Boots the installer and resolves with its duration once the guest has powered off. */
async function runInstaller(
  manifest: ImageManifest,
  disk: string,
  cdroms: string[],
  work: string,
  o: InstallImageOptions,
): Promise<number> {
  const progress = o.onProgress;
  const timeoutMs = o.timeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS;
  const serialLogPath = join(work, "console.log");
  const started = Date.now();
  await using vm = await startVm({
    image: disk,
    manifest,
    cdroms,
    bootFromCdrom: true,
    network: o.network ?? "restricted",
    vnc: o.vnc ?? false,
    serialLogPath,
    ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const vncPort = vncPortOf(vm.argv);
  progress?.({
    type: "stage",
    stage: "install",
    message:
      vncPort === undefined
        ? `installing from ${o.bootIso}; waiting for the guest to power off (serial console: ${serialLogPath})`
        : `installing from ${o.bootIso}; display on VNC at 127.0.0.1:${vncPort} (connect: vncviewer 127.0.0.1::${vncPort}); waiting for the guest to power off`,
  });
  const shutdown = vm.qmp.waitForEvent("SHUTDOWN", { timeoutMs, signal: o.signal });
  shutdown.catch(() => {});
  const outcome = await Promise.race([
    shutdown.then(
      (e) => ({ kind: "shutdown" as const, guest: e.data?.guest === true }),
      (err: unknown) => ({ kind: "failed" as const, err }),
    ),
    vm.exited.then((exit) => ({ kind: "exited" as const, exit })),
  ]);
  const tail = async () => readFileTail(serialLogPath);
  if (outcome.kind === "shutdown" && outcome.guest) {
    await vm.exited;
    return Date.now() - started;
  }
  await vm.kill();
  o.signal?.throwIfAborted();
  if (outcome.kind === "failed")
    throw new FirstBootError(
      "IMAGE_FIRST_BOOT_TIMEOUT",
      `the installer did not power the guest off within ${Math.round(timeoutMs / 1000)} s; nothing was saved (raise --timeout, or use --vnc to see the installer)`,
      await tail(),
      { cause: outcome.err },
    );
  throw new FirstBootError(
    "IMAGE_FIRST_BOOT_FAILED",
    outcome.kind === "exited"
      ? `QEMU exited (code ${outcome.exit.exitCode ?? "?"}${outcome.exit.signal ? `, ${outcome.exit.signal}` : ""}) before the guest powered off; nothing was saved`
      : "the VM was stopped from outside before the guest powered off; nothing was saved",
    await tail(),
  );
}

/** The VNC TCP port QEMU was started with (`-vnc 127.0.0.1:N` is port 5900 + N), if any. */
export function vncPortOf(argv: readonly string[]): number | undefined {
  const v = argv[argv.indexOf("-vnc") + 1];
  const display = argv.includes("-vnc") ? Number(v?.split(":")[1]) : Number.NaN;
  return Number.isInteger(display) ? 5900 + display : undefined;
}
