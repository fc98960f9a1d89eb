import { rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createLineTail } from "@strata/host-tool";
import { assertSshAccess, loadImageManifest, type NetworkMode, startVm } from "@strata/qemu-runner";
import { waitForSsh } from "@strata/ssh-transport";
import { ImageCommandError, ImageInputError } from "./errors.js";
import {
  assertImageAbsent,
  assertImageExists,
  createWorkOverlay,
  saveWorkOverlay,
} from "./image-files.js";
import { writeIso } from "./iso.js";
import type { ImageProgressListener } from "./progress.js";
import { createWorkDir } from "./work-dir.js";

/** Volume label of the setup CD; the guest mounts /dev/disk/by-label/strata-setup. */
export const SETUP_CD_LABEL = "strata-setup";
/** @default 3_600_000 (an hour: setup scripts install things, under TCG) */
export const DEFAULT_CUSTOMISE_TIMEOUT_MS = 3_600_000;

export interface CustomiseImageOptions {
  /** The store's `base-image/` directory, holding FROM and receiving NEW. */
  baseImageDir: string;
  from: string;
  name: string;
  /** Directory burnt onto the CD; holds `setup.sh` (`setup.ps1` for Windows guests). */
  cdDir: string;
  /** Key for FROM's SSH user when its manifest names none (the store's key). */
  privateKeyPath?: string | undefined;
  /** @default "restricted"; "host" lets the script download */
  network?: NetworkMode;
  /** @default DEFAULT_CUSTOMISE_TIMEOUT_MS */
  timeoutMs?: number;
  cacheDir?: string;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

export interface CustomisedImage {
  name: string;
  image: string;
  manifestPath: string;
  /** What the setup script printed (stdout and stderr, interleaved, bounded). */
  output: string;
}

/** The command that mounts the setup CD in the guest and runs its script as root. */
export function setupCommand(os: string): string {
  if (os === "windows") {
    // -EncodedCommand (base64 of UTF-16LE) passes through cmd.exe with no quoting to get wrong.
    const script = `$d = (Get-Volume -FileSystemLabel '${SETUP_CD_LABEL}').DriveLetter; & "$($d):\\setup.ps1"; exit $LASTEXITCODE`;
    return `powershell -NoProfile -ExecutionPolicy Bypass -EncodedCommand ${Buffer.from(script, "utf16le").toString("base64")}`;
  }
  const mnt = "/run/strata-setup";
  return [
    `sudo -n mkdir -p ${mnt}`,
    // udev may still be creating the by-label link when SSH first answers.
    `for i in $(seq 30); do [ -e /dev/disk/by-label/${SETUP_CD_LABEL} ] && break; sleep 1; done`,
    `sudo -n mount -o ro /dev/disk/by-label/${SETUP_CD_LABEL} ${mnt}`,
    `sudo -n sh -c 'cd ${mnt} && sh ./setup.sh'; rc=$?`,
    `sudo -n umount ${mnt}; sync; exit $rc`,
  ].join("\n");
}

/**
 * Boots FROM (on an overlay) with a CD made from `cdDir`, runs its setup script over SSH, powers
 * off and saves the result as NEW: a standalone qcow2 (`qemu-img convert` of the overlay) with
 * FROM's manifest renamed and its kernel files and key copied. FROM is never written.
 */
export async function customiseImage(options: CustomiseImageOptions): Promise<CustomisedImage> {
  const dir = resolve(options.baseImageDir);
  const fromImage = await assertImageExists(dir, options.from);
  await assertImageAbsent(dir, options.name);
  const manifest = await loadImageManifest(fromImage);
  assertSshAccess(manifest);
  const script = manifest.os === "windows" ? "setup.ps1" : "setup.sh";
  if (!(await stat(join(options.cdDir, script)).catch(() => undefined)))
    throw new ImageInputError(
      `--cd ${options.cdDir}: no ${script} in it; it is what runs in the guest`,
    );
  const keyPath = manifest.ssh.privateKey ?? options.privateKeyPath;
  if (!keyPath)
    throw new ImageInputError(`base image "${options.from}" names no SSH key and none was given`);
  const progress = options.onProgress;
  const signal = options.signal;
  const work = join(dir, `.customise-${options.name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const overlay = await createWorkOverlay(fromImage, work, signal);
    const cd = join(work, "setup.iso");
    await writeIso({
      outPath: cd,
      volumeLabel: SETUP_CD_LABEL,
      sourceDir: options.cdDir,
      ...(signal ? { signal } : {}),
    });
    progress?.({ type: "stage", stage: "boot", message: `booting ${options.from}` });
    const output = createLineTail(200, (line) =>
      progress?.({ type: "output", stage: "setup", line }),
    );
    {
      await using vm = await startVm({
        image: overlay,
        manifest,
        cdroms: [cd],
        network: options.network ?? "restricted",
        ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
        ...(signal ? { signal } : {}),
      });
      await using ssh = await waitForSsh({
        port: vm.sshPort,
        username: manifest.ssh.user,
        privateKey: { path: keyPath },
        shell: manifest.shell,
        dialect: manifest.os === "windows" ? "cmd" : "posix",
        signal: vm.signal,
        diagnostics: () => vm.consoleTail(),
      });
      progress?.({ type: "stage", stage: "setup", message: `running ${script}` });
      const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_CUSTOMISE_TIMEOUT_MS);
      const result = await ssh.exec(setupCommand(manifest.os), {
        onStdout: (c) => output.write(c),
        onStderr: (c) => output.write(c),
        signal: AbortSignal.any([vm.signal, timeout, ...(signal ? [signal] : [])]),
      });
      output.end();
      if (result.exitCode !== 0)
        throw new ImageCommandError(
          "setup",
          script,
          result.exitCode,
          output.lines.slice(-30).join("\n"),
        );
      progress?.({ type: "stage", stage: "shutdown", message: "powering off" });
      await ssh.close();
      await vm.shutdown();
    }
    progress?.({
      type: "stage",
      stage: "convert",
      message: `saving ${options.name} as a standalone qcow2`,
    });
    const saved = await saveWorkOverlay(
      work,
      dir,
      options.from,
      options.name,
      { customisedFrom: options.from, created: new Date().toISOString() },
      { onProgress: progress, signal },
    );
    progress?.({ type: "stage", stage: "done", message: `wrote ${saved.image}` });
    return { ...saved, output: output.lines.join("\n") };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
