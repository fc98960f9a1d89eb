import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { HostToolError, runHostTool } from "@strata/host-tool";
import type { RunAs } from "@strata/ssh-transport";
import { CacheToolError } from "./errors.js";

/** Virtual size of a new cache disk; qcow2 is sparse, so only what the cache holds is stored. */
export const DEFAULT_CACHE_DISK_SIZE_BYTES = 64 * 2 ** 30;
/** Most bytes a `copy` cache may bring back: the same bound as a disk cache's size. @default 64 GiB */
export const DEFAULT_CACHE_COPY_MAX_BYTES = 64 * 2 ** 30;
/** Most entries a `copy` cache may bring back. @default 1,000,000 */
export const DEFAULT_CACHE_COPY_MAX_ENTRIES = 1_000_000;

/** In a checkout directory (disk strategy): the version checked out, and the step's overlay. */
export const BASE_DISK = "base.qcow2";
export const OVERLAY_DISK = "overlay.qcow2";
const NEW_DISK = "new.qcow2";

/** Runs a host tool; a failure becomes a CacheToolError with its command line and output tail. */
export async function runTool(
  file: string,
  args: readonly string[],
  signal?: AbortSignal,
): Promise<string> {
  try {
    return await runHostTool(file, args, { signal });
  } catch (error) {
    if (error instanceof HostToolError) throw new CacheToolError(error);
    throw error;
  }
}

/**
 * The filesystem UUID of a cache's disk, derived from its name: stable across versions and
 * stores, so the guest finds the disk by `UUID=` whichever drive slot it got.
 */
export function cacheFilesystemUuid(name: string): string {
  const hex = createHash("sha256").update(`strata-cache\0${name}`).digest("hex").slice(0, 32);
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Copies a directory tree, sharing blocks where the filesystem can (btrfs, XFS). */
export async function copyTree(from: string, to: string, signal?: AbortSignal): Promise<void> {
  await runTool("cp", ["-a", "--reflink=auto", "--", from, to], signal);
}

interface CreateCacheDiskOptions {
  /** The qcow2 file to write. */
  path: string;
  uuid: string;
  /** Owner of the filesystem's root directory. */
  owner: RunAs;
  sizeBytes: number;
  signal?: AbortSignal;
}

/**
 * Makes an empty ext4 cache disk without root: mke2fs on a sparse raw file beside `path`
 * (`root_owner` gives the root directory to the step's user; `lost+found` is removed with debugfs
 * so a new cache is empty), then converted to qcow2. Inode tables and journal are initialised
 * now (`lazy_*_init=0`; on a file mke2fs punches holes, so this is quick) rather than by the
 * guest kernel's background thread, which would write them into every step's overlay.
 * `orphan_file` is left off so that kernels older than 5.15 can mount the disk.
 */
export async function createCacheDisk(o: CreateCacheDiskOptions): Promise<void> {
  const raw = `${o.path}.raw`;
  try {
    await runTool("truncate", ["-s", String(o.sizeBytes), raw], o.signal);
    await runTool("mke2fs", [
      "-q",
      "-F",
      "-t",
      "ext4",
      "-O",
      "^orphan_file",
      "-U",
      o.uuid,
      "-L",
      "strata-cache",
      "-E",
      `root_owner=${o.owner.uid}:${o.owner.gid},lazy_itable_init=0,lazy_journal_init=0`,
      raw,
    ]);
    await runTool("debugfs", ["-w", "-R", "rmdir lost+found", raw]);
    await runTool("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, o.path], o.signal);
  } finally {
    await rm(raw, { force: true });
  }
}

/** A qcow2 overlay on `base` (a relative backing name, resolved from the overlay's directory). */
export async function createOverlay(dir: string, base: string, overlay: string): Promise<void> {
  await runTool("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    "-b",
    base,
    "-F",
    "qcow2",
    join(dir, overlay),
  ]);
}

/**
 * Builds the next version of a disk cache inside the checkout directory and returns its path:
 * the overlay is checked, the base copied (reflink where possible) and the overlay committed
 * into the copy. The base itself, a hard link to the cache's version, is never written.
 */
export async function buildNextDisk(dir: string, signal?: AbortSignal): Promise<string> {
  const overlay = join(dir, OVERLAY_DISK);
  const next = join(dir, NEW_DISK);
  await runTool("qemu-img", ["check", "-q", "-f", "qcow2", overlay], signal);
  await runTool("cp", ["--reflink=auto", "--sparse=always", join(dir, BASE_DISK), next], signal);
  await runTool("qemu-img", [
    "rebase",
    "-u",
    "-f",
    "qcow2",
    "-b",
    NEW_DISK,
    "-F",
    "qcow2",
    overlay,
  ]);
  // -d: the overlay is thrown away afterwards, so do not spend time emptying it.
  await runTool("qemu-img", ["commit", "-q", "-d", "-f", "qcow2", overlay], signal);
  return next;
}
