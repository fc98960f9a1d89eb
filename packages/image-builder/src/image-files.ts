import { chmod, copyFile, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { ImageExistsError, ImageInputError, ImageNotFoundError } from "./errors.js";
import type { ImageProgressListener } from "./progress.js";
import { runTool } from "./run-tool.js";

const NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

/** Base image names as the store accepts them (no slash, not starting with a dot). */
export function checkImageName(name: string, what = "image name"): void {
  if (!NAME.test(name) || name.length > 128)
    throw new ImageInputError(
      `${what} "${name}": use letters, digits and . _ + - (no slash, not starting with a dot)`,
    );
}

/** The manifest JSON of a base image as an object (extra fields kept), or undefined without one. */
export async function readManifestJson(
  dir: string,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, `${name}.json`), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {}
  throw new ImageInputError(`${join(dir, `${name}.json`)} is not a JSON object; fix or remove it`);
}

export async function assertImageExists(dir: string, name: string): Promise<string> {
  checkImageName(name);
  const image = join(dir, `${name}.qcow2`);
  if (!(await stat(image).catch(() => undefined))) throw new ImageNotFoundError(name, dir);
  return image;
}

export async function assertImageAbsent(dir: string, name: string): Promise<void> {
  checkImageName(name);
  if (await stat(join(dir, `${name}.qcow2`)).catch(() => undefined))
    throw new ImageExistsError(name, dir);
}

/** The files a manifest points at (kernel, initrd, key), resolved against the manifest's dir. */
export function manifestFiles(
  manifest: Record<string, unknown>,
  dir: string,
): Record<"kernel" | "initrd" | "privateKey", string | undefined> {
  const boot = (manifest.boot ?? {}) as Record<string, unknown>;
  const ssh = (manifest.ssh ?? {}) as Record<string, unknown>;
  const path = (v: unknown) =>
    typeof v === "string" && v !== "" ? (isAbsolute(v) ? v : resolve(dir, v)) : undefined;
  return { kernel: path(boot.kernel), initrd: path(boot.initrd), privateKey: path(ssh.privateKey) };
}

/**
 * Copies a manifest's kernel, initrd and key into `work` under NEW's names and returns the
 * manifest renamed to NEW, pointing at them (relative names, so the set can move as one).
 */
export async function renameManifestFiles(
  manifest: Record<string, unknown>,
  fromDir: string,
  work: string,
  name: string,
): Promise<{ manifest: Record<string, unknown>; files: string[] }> {
  const src = manifestFiles(manifest, fromDir);
  const out: Record<string, unknown> = { ...manifest, name };
  const files: string[] = [];
  const take = async (from: string | undefined, suffix: string) => {
    if (!from) return undefined;
    const file = `${name}.${suffix}`;
    await copyFile(from, join(work, file));
    files.push(file);
    return file;
  };
  const boot = { ...((manifest.boot ?? {}) as Record<string, unknown>) };
  if (src.kernel) boot.kernel = await take(src.kernel, "vmlinuz");
  if (src.initrd) boot.initrd = await take(src.initrd, "initrd");
  if (manifest.boot) out.boot = boot;
  if (src.privateKey)
    out.ssh = { ...(manifest.ssh as object), privateKey: await take(src.privateKey, "key") };
  return { manifest: out, files };
}

/**
 * Renames an image's files from `work` into `dir`, the qcow2 last: it is there only when all
 * is. An image of the same name already there (`strata-image build --force`) is replaced file
 * by file, each by one rename, so it stays whole and usable until its qcow2 is swapped; then
 * whatever of its files the new image does not have (a pulled image's identity record, a key
 * or kernel the new one lacks) is removed.
 */
export async function moveImageInto(
  work: string,
  dir: string,
  name: string,
  files: readonly string[],
): Promise<void> {
  const qcow2 = `${name}.qcow2`;
  const before = await imageFileNames(dir, name);
  for (const f of [...files.filter((f) => f !== qcow2), qcow2])
    await rename(join(work, f), join(dir, f));
  await removeFiles(
    dir,
    before.filter((f) => !files.includes(f)),
  );
}

/** Copies an SSH private key into `work` as `<name>.key`, mode 0600; returns that file's name. */
export async function copyImageKey(keyPath: string, work: string, name: string): Promise<string> {
  const file = `${name}.key`;
  await copyFile(keyPath, join(work, file));
  await chmod(join(work, file), 0o600);
  return file;
}

/** Where a saved base image's files are. */
export interface SavedImage {
  name: string;
  image: string;
  manifestPath: string;
}

/**
 * Writes base image `name`'s manifest into `work`, then moves it, the other `files` and
 * `<name>.qcow2` from `work` into `dir` (see {@link moveImageInto}).
 */
export async function saveImage(
  work: string,
  dir: string,
  name: string,
  manifest: object,
  files: readonly string[] = [],
): Promise<SavedImage> {
  await writeFile(join(work, `${name}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
  await moveImageInto(work, dir, name, [...files, `${name}.json`, `${name}.qcow2`]);
  return { name, image: join(dir, `${name}.qcow2`), manifestPath: join(dir, `${name}.json`) };
}

/** A throwaway qcow2 overlay of base image file `image`, as `<work>/overlay.qcow2`. */
export async function createWorkOverlay(
  image: string,
  work: string,
  signal: AbortSignal | undefined,
): Promise<string> {
  const overlay = join(work, "overlay.qcow2");
  await runTool("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, overlay], {
    stage: "overlay",
    signal,
  });
  return overlay;
}

/**
 * {@link saveImage} for an image made here: the SSH private key at `keyPath`, if given, is
 * copied beside it (0600) and named in the manifest's `ssh.privateKey`.
 */
export async function saveImageWithKey(
  work: string,
  dir: string,
  name: string,
  manifest: { ssh: object; [field: string]: unknown },
  keyPath: string | undefined,
): Promise<SavedImage> {
  const key = keyPath ? await copyImageKey(keyPath, work, name) : undefined;
  const ssh = { ...manifest.ssh, ...(key ? { privateKey: key } : {}) };
  return saveImage(work, dir, name, { ...manifest, ssh }, key ? [key] : []);
}

/**
 * Saves the overlay of {@link createWorkOverlay} as base image `name` in `dir`: a standalone
 * qcow2 with the manifest of base image `from` (its files copied under the new name) plus
 * `fields`.
 */
export async function saveWorkOverlay(
  work: string,
  dir: string,
  from: string,
  name: string,
  fields: object,
  o: { onProgress?: ImageProgressListener | undefined; signal?: AbortSignal | undefined },
): Promise<SavedImage> {
  await runTool(
    "qemu-img",
    ["convert", "-p", "-O", "qcow2", join(work, "overlay.qcow2"), join(work, `${name}.qcow2`)],
    { stage: "convert", onProgress: o.onProgress, signal: o.signal },
  );
  const fromJson = (await readManifestJson(dir, from)) ?? { name: from };
  const renamed = await renameManifestFiles(fromJson, dir, work, name);
  return saveImage(work, dir, name, { ...renamed.manifest, ...fields }, renamed.files);
}

/** The suffixes of a base image's files: `<name>.qcow2` and what its manifest names. */
export const IMAGE_FILE_SUFFIXES = [
  "qcow2",
  "json",
  "vmlinuz",
  "initrd",
  "key",
  "identity.json",
] as const;

/** The files of base image `name` present in `dir`. */
export async function imageFileNames(dir: string, name: string): Promise<string[]> {
  const all = new Set(await readdir(dir).catch(() => [] as string[]));
  return IMAGE_FILE_SUFFIXES.map((s) => `${name}.${s}`).filter((f) => all.has(f));
}

export async function removeFiles(dir: string, files: readonly string[]): Promise<void> {
  for (const f of files) await rm(join(dir, f), { force: true });
}
