import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BaseImageManifestError, BaseImageMissingError, StoreOptionsError } from "./errors.js";
import type { StoreLayout } from "./layout.js";

/** A base image found in `<store>/base-image/`. */
export interface BaseImage {
  name: string;
  /** `base-image/<name>.qcow2` */
  image: string;
  /** `base-image/<name>.json`, when present. */
  manifestPath?: string;
  /** The manifest's parsed JSON; its format belongs to qemu-runner, the store does not read it. */
  manifest?: unknown;
}

const BASE_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

export function validateBaseImageName(name: string): string {
  if (!BASE_NAME.test(name)) {
    throw new StoreOptionsError(
      `Invalid base image name ${JSON.stringify(name)}: use letters, digits and . _ + - (no slash, not starting with a dot).`,
    );
  }
  return name;
}

/** Locates `base-image/<name>.qcow2` (OBuilder's layout) and the optional manifest beside it. */
export function findBaseImage(layout: StoreLayout, name: string): BaseImage {
  validateBaseImageName(name);
  const image = join(layout.baseImageDir, `${name}.qcow2`);
  if (!existsSync(image)) throw new BaseImageMissingError(name, image, layout.root);
  const manifestPath = join(layout.baseImageDir, `${name}.json`);
  let text: string;
  try {
    text = readFileSync(manifestPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { name, image };
    throw error;
  }
  try {
    return { name, image, manifestPath, manifest: JSON.parse(text) as unknown };
  } catch (error) {
    throw new BaseImageManifestError(manifestPath, error);
  }
}

/** Beside a pulled base image: the identity it had where it was built (see {@link baseImageIdentity}). */
export const BASE_IDENTITY_SUFFIX = ".identity.json";

interface IdentityRecord {
  identity: string;
  size: number;
  mtimeMs: number;
}

/**
 * The identity a base image gives its first layer's ID: `size:mtime` of the qcow2, so a
 * rebuilt image starts new layers. A pulled image carries the identity it had where it was
 * built in `<name>.identity.json`, honoured only while the file is the one pulled (same size
 * and mtime): then every host that pulled it computes the same layer IDs as the one that built it.
 */
export function baseImageIdentity(imagePath: string): string {
  const s = statSync(imagePath);
  const local = `${s.size}:${s.mtimeMs}`;
  let record: Partial<IdentityRecord>;
  try {
    record = JSON.parse(readFileSync(identityPath(imagePath), "utf8")) as Partial<IdentityRecord>;
  } catch {
    return local;
  }
  const valid =
    typeof record.identity === "string" && record.size === s.size && record.mtimeMs === s.mtimeMs;
  return valid ? record.identity! : local;
}

/** Records the origin identity of the image at `imagePath` (call before moving both into place). */
export function writeBaseImageIdentity(imagePath: string, identity: string): void {
  const s = statSync(imagePath);
  const record: IdentityRecord = { identity, size: s.size, mtimeMs: s.mtimeMs };
  writeFileSync(identityPath(imagePath), `${JSON.stringify(record)}\n`);
}

function identityPath(imagePath: string): string {
  return imagePath.replace(/\.qcow2$/, BASE_IDENTITY_SUFFIX);
}
