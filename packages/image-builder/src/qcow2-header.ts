import { open } from "node:fs/promises";

/**
 * The backing file a qcow2 names in its header, read directly (no qemu-img process per file).
 * Returns undefined for images without one. Header layout: magic "QFI\xfb" at 0, backing file
 * offset (u64 BE) at 8 and its length (u32 BE) at 16.
 */
export async function readQcow2Backing(path: string): Promise<string | undefined> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(20);
    await file.read(header, 0, 20, 0);
    if (header.readUInt32BE(0) !== 0x514649fb) throw new Error(`${path} is not a qcow2 image`);
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
