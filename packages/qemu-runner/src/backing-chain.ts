import { open } from "node:fs/promises";
import { dirname, resolve } from "node:path";

const QCOW2_MAGIC = 0x514649fb;

/**
 * The deepest backing file whose page cache the root disk's options name (see argv.ts): each
 * level names one more option, `backing.` once more than the last, so 64 levels take 17 KB of
 * one argument (Linux allows 128 KiB). Deeper files keep QEMU's default.
 */
export const KEEP_CACHE_MAX_DEPTH = 64;

/**
 * The backing file a qcow2 names in its header, read directly (no qemu-img process per file);
 * undefined when it names none, null when `path` is not a qcow2 image. Header layout: magic
 * "QFI\xfb" at 0, backing file offset (u64 BE) at 8 and its length (u32 BE) at 16.
 */
export async function readQcow2Backing(path: string): Promise<string | undefined | null> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(20);
    const { bytesRead } = await file.read(header, 0, 20, 0);
    if (bytesRead < 20 || header.readUInt32BE(0) !== QCOW2_MAGIC) return null;
    const offset = Number(header.readBigUInt64BE(8));
    const length = header.readUInt32BE(16);
    if (offset === 0 || length === 0) return undefined;
    const name = Buffer.alloc(Math.min(length, 4096));
    await file.read(name, 0, name.length, offset);
    return name.toString("utf8");
  } finally {
    await file.close();
  }
}

/**
 * How many backing files lie under the image at `path` (0 for a standalone or raw image),
 * following relative names from each image's directory as QEMU does; at most `max`. A name QEMU
 * would not read as a path (a `json:` specification) or a file that cannot be read ends the
 * count there.
 */
export async function backingChainDepth(path: string, max: number): Promise<number> {
  let current = path;
  for (let depth = 0; depth < max; depth++) {
    const name = await readQcow2Backing(current).catch(() => null);
    if (!name || name.startsWith("json:")) return depth;
    current = resolve(dirname(current), name);
  }
  return max;
}
