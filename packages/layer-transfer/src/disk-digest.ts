import { open, stat } from "node:fs/promises";
import type { Store } from "@strata/store";
import { hashFileRange } from "./file-range.js";

/** Digests already computed, by store, then by the image file's identity (inode, mtime, size). */
const digests = new WeakMap<Store, Map<string, Promise<string>>>();

/**
 * The sha256 of layer `id`'s qcow2 file (`sha256:<hex>`), which a child's record names as its
 * parent's disk. A layer ID names a step, not bytes: two hosts that both build a step hold two
 * different disks under one ID, and a child overlay made on one of them reads as garbage on
 * the other. Hashed once per process while the file stays the same.
 */
export async function layerDiskDigest(store: Store, id: string): Promise<string> {
  const image = store.layerImage(id);
  const s = await stat(image);
  const key = `${id}:${s.ino}:${s.mtimeMs}:${s.size}`;
  let byKey = digests.get(store);
  if (!byKey) {
    byKey = new Map();
    digests.set(store, byKey);
  }
  let digest = byKey.get(key);
  if (!digest) {
    digest = hashWholeFile(image, s.size);
    byKey.set(key, digest);
    digest.catch(() => byKey.delete(key));
  }
  return digest;
}

async function hashWholeFile(path: string, size: number): Promise<string> {
  const file = await open(path, "r");
  try {
    return (await hashFileRange(file, 0, size)).digest;
  } finally {
    await file.close();
  }
}
