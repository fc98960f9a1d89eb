import { open } from "node:fs/promises";
import type { Store } from "@strata/store";
import { hashFileRange } from "./file-range.js";

/**
 * The sha256 of layer `id`'s qcow2 file (`sha256:<hex>`), which a child's record names as its
 * parent's disk. A layer ID names a step, not bytes: two hosts that both build a step hold two
 * different disks under one ID, and a child overlay made on one of them reads as garbage on
 * the other. A push or pull hashes each parent once, so nothing is cached.
 */
export async function layerDiskDigest(store: Store, id: string): Promise<string> {
  const file = await open(store.layerImage(id), "r");
  try {
    return (await hashFileRange(file, 0, (await file.stat()).size)).digest;
  } finally {
    await file.close();
  }
}
