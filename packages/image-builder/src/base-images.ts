import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { layerImagePath, parseBackingPath, storeLayout } from "@strata/store/layout";
import { execa } from "execa";
import { ImageBuildError } from "./errors.js";
import { assertImageExists, imageFileNames, readManifestJson, removeFiles } from "./image-files.js";
import { readQcow2Backing } from "./qcow2-header.js";

export interface BaseImageSummary {
  name: string;
  /** Bytes the qcow2 takes on disk. */
  diskBytes: number;
  os: string;
  bootMode: string;
  created: string | undefined;
  hasManifest: boolean;
}

/** The base images in a store's `base-image/` directory, by name. */
export async function listBaseImages(dir: string): Promise<BaseImageSummary[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const names = entries
    .filter((f) => f.endsWith(".qcow2") && !f.startsWith("."))
    .map((f) => f.slice(0, -6));
  const out: BaseImageSummary[] = [];
  for (const name of names.sort()) {
    const st = await stat(join(dir, `${name}.qcow2`));
    const m = await readManifestJson(dir, name).catch(() => undefined);
    const boot = (m?.boot ?? {}) as Record<string, unknown>;
    out.push({
      name,
      diskBytes: st.blocks * 512,
      os: typeof m?.os === "string" ? m.os : "linux",
      bootMode: typeof boot.mode === "string" ? boot.mode : "disk",
      created: typeof m?.created === "string" ? m.created : undefined,
      hasManifest: m !== undefined,
    });
  }
  return out;
}

export interface BaseImageDetails {
  name: string;
  files: { name: string; bytes: number }[];
  manifest: Record<string, unknown> | undefined;
  virtualBytes: number;
  backingFile: string | undefined;
}

/** Everything about one base image: its files, manifest and qcow2 facts. */
export async function inspectBaseImage(dir: string, name: string): Promise<BaseImageDetails> {
  const image = await assertImageExists(dir, name);
  const files = [];
  for (const f of await imageFileNames(dir, name))
    files.push({ name: f, bytes: (await stat(join(dir, f))).size });
  const info = JSON.parse(
    (await execa("qemu-img", ["info", "-U", "--output=json", image])).stdout,
  ) as Record<string, unknown>;
  return {
    name,
    files,
    manifest: await readManifestJson(dir, name),
    virtualBytes: Number(info["virtual-size"] ?? 0),
    backingFile:
      typeof info["backing-filename"] === "string" ? info["backing-filename"] : undefined,
  };
}

/** Layers of the store whose backing file is this base image (read from their qcow2 headers). */
export async function layersUsingBaseImage(storeRoot: string, name: string): Promise<string[]> {
  const ids = await readdir(storeLayout(storeRoot).resultDir).catch(() => [] as string[]);
  const users: string[] = [];
  for (const id of ids) {
    const backing = await readQcow2Backing(layerImagePath(storeRoot, id)).catch(() => undefined);
    const target = backing === undefined ? undefined : parseBackingPath(backing);
    if (target !== undefined && "base" in target && target.base === name) users.push(id);
  }
  return users;
}

export class BaseImageInUseError extends ImageBuildError {
  constructor(
    readonly imageName: string,
    readonly layers: readonly string[],
  ) {
    super(
      "IMAGE_IN_USE",
      `base image "${imageName}" backs ${layers.length} cached layer(s) (${layers.slice(0, 3).join(", ")}${layers.length > 3 ? ", ..." : ""}); delete them first ("strata store delete") or pass --force`,
    );
  }
}

export interface RemoveBaseImageOptions {
  /** The store root, to refuse removing an image that layers are built on. */
  storeRoot: string;
  /** Remove even if layers use it (they become unusable). @default false */
  force?: boolean;
}

/** Removes a base image's files (qcow2 first, so a half-removed image is no image at all). */
export async function removeBaseImage(
  dir: string,
  name: string,
  options: RemoveBaseImageOptions,
): Promise<string[]> {
  await assertImageExists(dir, name);
  const layers = await layersUsingBaseImage(options.storeRoot, name);
  if (layers.length > 0 && !options.force) throw new BaseImageInUseError(name, layers);
  const files = await imageFileNames(dir, name);
  await removeFiles(dir, [`${name}.qcow2`, ...files.filter((f) => f !== `${name}.qcow2`)]);
  return files;
}
