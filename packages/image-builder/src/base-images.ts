import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { runHostTool } from "@strata/host-tool";
import { readQcow2Backing } from "@strata/qemu-runner/internal";
import { parseBackingPath, storeLayout } from "@strata/store/layout";
import { ImageBuildError } from "./errors.js";
import { assertImageExists, imageFileNames, readManifestJson, removeFiles } from "./image-files.js";

/** `result-tmp/<id>/` + this: a running step's overlay. */
const LAYER_IMAGE = join("rootfs", "image.qcow2");

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
    await runHostTool("qemu-img", ["info", "-U", "--output=json", image]),
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

/** Who uses a base image: what removing it would break. */
export interface BaseImageUsers {
  /** Cached layers built on it (directly or through their parents); unusable without it. */
  layers: string[];
  /** Running builds that use it: holders of leases on its layers, and steps being built on it. */
  running: string[];
}

/**
 * What uses base image `name` in the store at `storeRoot`: every cached layer whose chain ends
 * in it, the live leases on those layers (a running build, `strata shell`), and the steps in
 * `result-tmp/` whose overlay is backed by it (a build's first step, still running).
 */
export async function findBaseImageUsers(storeRoot: string, name: string): Promise<BaseImageUsers> {
  // Loaded here, not at the top: the store's database (native sqlite) is needed only to find
  // the layers built on an image; everything else in this package names files only.
  const { openStore } = await import("@strata/store");
  await using store = await openStore({ root: storeRoot });
  const layers = store
    .list()
    .filter((l) => l.base === name)
    .map((l) => l.id);
  const own = new Set(layers);
  const running = [...store.leases()]
    .filter(([id]) => own.has(id))
    .map(([id, holder]) => `${holder} (layer ${id.slice(0, 12)})`);
  const tmp = storeLayout(storeRoot).resultTmpDir;
  for (const id of await readdir(tmp).catch(() => [] as string[])) {
    const backing = await readQcow2Backing(join(tmp, id, LAYER_IMAGE)).catch(() => undefined);
    const target = typeof backing === "string" ? parseBackingPath(backing) : undefined;
    if (target !== undefined && "base" in target && target.base === name)
      running.push(`a step being built (result-tmp/${id.slice(0, 12)})`);
  }
  return { layers, running: [...new Set(running)] };
}

/** `strata-image rm` without `--force` of an image that layers or running builds use. */
export class BaseImageInUseError extends ImageBuildError {
  constructor(
    readonly imageName: string,
    readonly users: BaseImageUsers,
  ) {
    const parts = [
      ...(users.running.length > 0
        ? [
            `${users.running.length} running build(s) use it: ${users.running.slice(0, 3).join("; ")}`,
          ]
        : []),
      ...(users.layers.length > 0
        ? [
            `${users.layers.length} cached layer(s) are built on it (${users.layers
              .slice(0, 3)
              .map((id) => id.slice(0, 12))
              .join(", ")}${users.layers.length > 3 ? ", ..." : ""})`,
          ]
        : []),
    ];
    super(
      "IMAGE_IN_USE",
      `base image "${imageName}" is in use: ${parts.join("; ")}. Wait for the builds, delete the layers ("strata store delete ID") or pass --force, which makes those layers unusable and fails those builds`,
    );
  }
}

export interface RemoveBaseImageOptions {
  /** The store root, to refuse removing an image that layers or running builds use. */
  storeRoot: string;
  /** Remove even if layers or running builds use it (the layers become unusable, the builds fail). @default false */
  force?: boolean;
}

/** What {@link removeBaseImage} removed, and what that broke (with `force`). */
export interface RemovedBaseImage {
  files: string[];
  /** The users it had: empty unless `force` was given. */
  broken: BaseImageUsers;
}

/** What removing a used image with `force` broke, one sentence each (the app prints them). */
export function describeBrokenUsers(name: string, broken: BaseImageUsers): string[] {
  return [
    ...(broken.layers.length > 0
      ? [
          `${broken.layers.length} cached layer(s) built on "${name}" can no longer be used; remove them with "strata store delete ID" or "strata store prune"`,
        ]
      : []),
    ...broken.running.map((user) => `${user} used "${name}" and will fail`),
  ];
}

/** Removes a base image's files (qcow2 first, so a half-removed image is no image at all). */
export async function removeBaseImage(
  dir: string,
  name: string,
  options: RemoveBaseImageOptions,
): Promise<RemovedBaseImage> {
  await assertImageExists(dir, name);
  const users = await findBaseImageUsers(options.storeRoot, name);
  const used = users.layers.length > 0 || users.running.length > 0;
  if (used && !options.force) throw new BaseImageInUseError(name, users);
  const files = await imageFileNames(dir, name);
  await removeFiles(dir, [`${name}.qcow2`, ...files.filter((f) => f !== `${name}.qcow2`)]);
  return { files, broken: users };
}
