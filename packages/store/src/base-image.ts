import { existsSync, readFileSync } from "node:fs";
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
