import { rm } from "node:fs/promises";
import { join } from "node:path";
import { defaultManifest } from "@strata/qemu-runner";
import { cloudConfig, cloudMetaData } from "./cloud-init.js";
import { downloadFile, fetchPublishedSha256 } from "./download.js";
import { ImageInputError } from "./errors.js";
import { runFirstBoot } from "./first-boot.js";
import { assertImageAbsent, checkImageName, saveImageWithKey } from "./image-files.js";
import type { ImageProgressListener } from "./progress.js";
import { runTool } from "./run-tool.js";
import { createWorkDir } from "./work-dir.js";

const UBUNTU_NOBLE_URL = "https://cloud-images.ubuntu.com/noble/current/";
const UBUNTU_NOBLE_FILE = "noble-server-cloudimg-amd64.img";

export interface BuildUbuntuImageOptions {
  outDir: string;
  /** Replace an image of the same name once the new one is complete (`--force`). @default false */
  replace?: boolean | undefined;
  /** Where downloads are kept (and resumed from) across runs. */
  downloadDir: string;
  publicKey: string;
  privateKeyPath?: string | undefined;
  /** @default "ubuntu-noble" */
  name?: string;
  /** @default UBUNTU_NOBLE_URL (must hold SHA256SUMS and the image) */
  baseUrl?: string;
  /** @default UBUNTU_NOBLE_FILE */
  file?: string;
  /** @default "opam" */
  user?: string;
  /** Installed on first boot; any makes the first boot use the host network. @default [] */
  packages?: readonly string[];
  /** @default 20 */
  sizeGiB?: number;
  timeoutMs?: number;
  onProgress?: ImageProgressListener;
  signal?: AbortSignal;
}

/**
 * Ubuntu from its cloud image: download (resumable, checked against SHA256SUMS), grow the disk,
 * then one first boot with a NoCloud seed ISO where cloud-init creates the user, installs the
 * key and packages and powers off. Needs no root.
 */
export async function buildUbuntuImage(options: BuildUbuntuImageOptions) {
  const name = options.name ?? "ubuntu-noble";
  const user = options.user ?? "opam";
  const sizeGiB = options.sizeGiB ?? 20;
  checkImageName(name);
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
    throw new ImageInputError(`user "${user}" is not a valid Linux user name`);
  if (!Number.isInteger(sizeGiB) || sizeGiB < 4)
    throw new ImageInputError(`sizeGiB ${sizeGiB}: at least 4`);
  if (!options.replace) await assertImageAbsent(options.outDir, name);
  const baseUrl = options.baseUrl ?? UBUNTU_NOBLE_URL;
  const file = options.file ?? UBUNTU_NOBLE_FILE;
  const signal = options.signal;
  const progress = options.onProgress;
  const sha256 = await fetchPublishedSha256(new URL("SHA256SUMS", baseUrl).href, file, signal);
  const download = await downloadFile({
    url: new URL(file, baseUrl).href,
    dest: join(options.downloadDir, file),
    sha256,
    ...(progress ? { onProgress: progress } : {}),
    ...(signal ? { signal } : {}),
  });
  const work = join(options.outDir, `.building-${name}-${process.pid}`);
  await createWorkDir(work);
  try {
    const qcow2 = join(work, `${name}.qcow2`);
    progress?.({
      type: "stage",
      stage: "convert",
      message: `copying the cloud image, ${sizeGiB} GiB`,
    });
    await runTool("qemu-img", ["convert", "-p", "-O", "qcow2", download.path, qcow2], {
      stage: "convert",
      onProgress: progress,
      signal,
    });
    await runTool("qemu-img", ["resize", "-q", qcow2, `${sizeGiB}G`], { stage: "convert", signal });
    const manifest = { ...defaultManifest(name), ssh: { user, port: 22 }, memoryMiB: 2048 };
    const packages = options.packages ?? [];
    await runFirstBoot({
      image: qcow2,
      manifest,
      via: "iso",
      network: packages.length > 0 ? "host" : "restricted",
      seed: {
        metaData: cloudMetaData(`strata-${name}-${Date.now()}`),
        userData: cloudConfig({
          users: [{ name: user, publicKeys: [options.publicKey.trim()] }],
          packages,
        }),
      },
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(progress ? { onProgress: progress } : {}),
      ...(signal ? { signal } : {}),
    });
    return await saveImageWithKey(
      work,
      options.outDir,
      name,
      {
        ...manifest,
        recipe: { name: "ubuntu-cloud", source: new URL(file, baseUrl).href, sha256, packages },
        created: new Date().toISOString(),
      },
      options.privateKeyPath,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
