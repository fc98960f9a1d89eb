import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { defaultManifest, startVm } from "@strata/qemu-runner";
import { FirstBootError, ImageInputError } from "./errors.js";
import { assertImageAbsent, checkImageName, saveImageWithKey } from "./image-files.js";
import { writeIso } from "./iso.js";
import type { ImageProgressListener } from "./progress.js";
import { runTool } from "./run-tool.js";
import { windowsSetupScript, windowsUnattendXml } from "./windows-unattend.js";
import { createWorkDir } from "./work-dir.js";

/** An unattended Windows install under TCG takes hours. @default 14_400_000 (4 h) */
export const DEFAULT_WINDOWS_INSTALL_TIMEOUT_MS = 14_400_000;
/** Label of the answer CD; Windows Setup reads autounattend.xml from any removable drive. */
export const UNATTEND_CD_LABEL = "strata-unattend";

interface WriteUnattendIsoOptions {
  outPath: string;
  publicKey: string;
  adminUser?: string;
  adminPassword: string;
  imageName?: string;
  signal?: AbortSignal;
}

/** The answer CD: `autounattend.xml`, `setup-ssh.ps1` and the public key. */
export async function writeUnattendIso(options: WriteUnattendIsoOptions): Promise<void> {
  await writeIso({
    outPath: options.outPath,
    volumeLabel: UNATTEND_CD_LABEL,
    files: {
      "autounattend.xml": windowsUnattendXml({
        adminPassword: options.adminPassword,
        ...(options.adminUser ? { adminUser: options.adminUser } : {}),
        ...(options.imageName ? { imageName: options.imageName } : {}),
      }),
      "setup-ssh.ps1": windowsSetupScript(options.publicKey),
      "strata.pub": `${options.publicKey.trim()}\n`,
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export interface BuildWindowsImageOptions {
  outDir: string;
  /** Replace an image of the same name once the new one is complete (`--force`). @default false */
  replace?: boolean | undefined;
  /** The Windows Server 2022 install ISO (the user supplies it). */
  iso: string;
  /** virtio-win drivers ISO (https://fedorapeople.org/groups/virt/virtio-win/). */
  virtioIso: string;
  publicKey: string;
  privateKeyPath?: string | undefined;
  /** @default "windows-server-2022" */
  name?: string;
  /** @default "opam" */
  adminUser?: string;
  /** @default a random one (SSH logs in with the key) */
  adminPassword?: string;
  /** @default 64 */
  sizeGiB?: number;
  timeoutMs?: number;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

/**
 * Installs Windows from the user's ISO with the answer CD and the virtio drivers, and waits for
 * the install to power off (its last step, after OpenSSH is set up).
 */
export async function buildWindowsImage(options: BuildWindowsImageOptions) {
  const name = options.name ?? "windows-server-2022";
  checkImageName(name);
  const sizeGiB = options.sizeGiB ?? 64;
  const problems: string[] = [];
  for (const [flag, path] of [
    ["--iso", options.iso],
    ["--virtio-iso", options.virtioIso],
  ] as const)
    if (!(await stat(path).catch(() => undefined))?.isFile())
      problems.push(`${flag} ${path}: no such file`);
  if (!Number.isInteger(sizeGiB) || sizeGiB < 32)
    problems.push(`size ${sizeGiB} GiB: Windows Server needs at least 32`);
  if (problems.length > 0) throw new ImageInputError(problems.join("\n"));
  if (!options.replace) await assertImageAbsent(options.outDir, name);
  const progress = options.onProgress;
  const signal = options.signal;
  const work = join(options.outDir, `.building-${name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const qcow2 = join(work, `${name}.qcow2`);
    await runTool("qemu-img", ["create", "-q", "-f", "qcow2", qcow2, `${sizeGiB}G`], {
      stage: "disk",
      signal,
    });
    const answers = join(work, "unattend.iso");
    const adminUser = options.adminUser ?? "opam";
    await writeUnattendIso({
      outPath: answers,
      publicKey: options.publicKey,
      adminUser,
      adminPassword: options.adminPassword ?? `S${crypto.randomUUID()}!`,
      ...(signal ? { signal } : {}),
    });
    const manifest = {
      ...defaultManifest(name, "windows"),
      ssh: { user: adminUser, port: 22 },
      memoryMiB: 4096,
    };
    progress?.({
      type: "stage",
      stage: "install",
      message: "installing Windows (hours under TCG)",
    });
    {
      await using vm = await startVm({
        image: qcow2,
        manifest,
        cdroms: [options.iso, options.virtioIso, answers],
        bootFromCdrom: true,
        ...(signal ? { signal } : {}),
      });
      const limit = options.timeoutMs ?? DEFAULT_WINDOWS_INSTALL_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((r) => {
        timer = setTimeout(r, limit, "timeout");
      });
      const end = await Promise.race([vm.exited.then(() => "exited" as const), timedOut]);
      clearTimeout(timer);
      if (end === "timeout")
        throw new FirstBootError(
          "IMAGE_FIRST_BOOT_TIMEOUT",
          `Windows Setup did not power off in ${limit / 1000} s; watch it with a VNC display to see where it stopped`,
          await vm.consoleTail(),
        );
    }
    return await saveImageWithKey(
      work,
      options.outDir,
      name,
      { ...manifest, recipe: { name: "windows-unattend" }, created: new Date().toISOString() },
      options.privateKeyPath,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
