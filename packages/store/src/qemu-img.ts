import { HostToolError, runHostTool } from "@strata/host-tool";
import { QemuImgError } from "./errors.js";

/** What `qemu-img info --output=json` reports about one image of a chain. */
export interface ImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize?: number;
  backingFilename?: string;
  fullBackingFilename?: string;
}

/** Options of every `qemu-img` call. */
interface QemuImgOptions {
  signal?: AbortSignal;
  /** @default DEFAULT_QEMU_IMG_TIMEOUT_MS */
  timeoutMs?: number;
}

/** A copy of a multi-GiB image on a slow disk takes minutes; nothing legitimate takes an hour. */
const DEFAULT_QEMU_IMG_TIMEOUT_MS = 60 * 60 * 1000;

async function runQemuImg(args: string[], options: QemuImgOptions = {}): Promise<string> {
  try {
    return await runHostTool("qemu-img", args, {
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? DEFAULT_QEMU_IMG_TIMEOUT_MS,
    });
  } catch (error) {
    if (!(error instanceof HostToolError)) throw error;
    throw new QemuImgError(error, error.timedOut ? "timed out" : error.tail);
  }
}

/**
 * Creates a qcow2 overlay of `backing`. A relative `backing` is resolved by qemu from the
 * overlay's own directory, and stored as given, so the chain survives moving the store.
 */
export async function createOverlay(
  image: string,
  backing: string,
  backingFormat: string,
  options?: QemuImgOptions,
): Promise<void> {
  await runQemuImg(
    ["create", "-q", "-f", "qcow2", "-F", backingFormat, "-b", backing, image],
    options,
  );
}

/** Writes `source` (and its whole backing chain) as one standalone qcow2 image. */
export async function flattenImage(
  source: string,
  destination: string,
  options?: QemuImgOptions,
): Promise<void> {
  await runQemuImg(["convert", "-q", "-O", "qcow2", source, destination], options);
}

interface RawInfo {
  filename: string;
  format: string;
  "virtual-size": number;
  "actual-size"?: number;
  "backing-filename"?: string;
  "full-backing-filename"?: string;
}

function toImageInfo(raw: RawInfo): ImageInfo {
  return {
    filename: raw.filename,
    format: raw.format,
    virtualSize: raw["virtual-size"],
    ...(raw["actual-size"] === undefined ? {} : { actualSize: raw["actual-size"] }),
    ...(raw["backing-filename"] === undefined ? {} : { backingFilename: raw["backing-filename"] }),
    ...(raw["full-backing-filename"] === undefined
      ? {}
      : { fullBackingFilename: raw["full-backing-filename"] }),
  };
}

/** `qemu-img info` of one image (it fails when the image or a backing file is unreadable). */
export async function readImageInfo(image: string, options?: QemuImgOptions): Promise<ImageInfo> {
  // -U: a running build may hold the write lock on the image; reading its header is still safe.
  const out = await runQemuImg(["info", "-U", "--output=json", image], options);
  return toImageInfo(JSON.parse(out) as RawInfo);
}

/** `qemu-img info --backing-chain`: the image first, then each backing file down to the bottom. */
export async function readBackingChain(
  image: string,
  options?: QemuImgOptions,
): Promise<ImageInfo[]> {
  const out = await runQemuImg(["info", "-U", "--backing-chain", "--output=json", image], options);
  return (JSON.parse(out) as RawInfo[]).map(toImageInfo);
}

/** Result of `qemu-img check`: `corrupt` when qemu found errors (exit code 2). */
interface ImageCheck {
  ok: boolean;
  problem?: string;
}

export async function checkImage(image: string, options?: QemuImgOptions): Promise<ImageCheck> {
  try {
    await runQemuImg(["check", "-q", "-U", image], options);
    return { ok: true };
  } catch (error) {
    // Exit code 3 means leaked clusters only: wasted space, the data is intact.
    if (error instanceof QemuImgError && error.exitCode === 3) return { ok: true };
    if (error instanceof QemuImgError) return { ok: false, problem: error.message };
    throw error;
  }
}
