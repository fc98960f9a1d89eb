import { link, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { GuestOs } from "@strata/qemu-runner";
import type { ExtractTarOptions, RunAs } from "@strata/ssh-transport";
import type { Store } from "@strata/store";
import type { CacheHandle } from "./cache-handle.js";
import { CopyCache, TREE_DIR } from "./copy-cache.js";
import { DiskCache } from "./disk-cache.js";
import type { CacheEvent } from "./events.js";
import {
  BASE_DISK,
  cacheFilesystemUuid,
  copyTree,
  createCacheDisk,
  createOverlay,
  OVERLAY_DISK,
  runTool,
} from "./host-tools.js";
import type { CacheMountRequest } from "./options.js";
import { type CacheStrategy, chooseStrategy } from "./strategy.js";
import { currentVersion } from "./versions-io.js";

interface CheckOutOptions {
  store: Store;
  request: CacheMountRequest;
  strategy: CacheStrategy | "auto";
  os: GuestOs;
  /** Root owner of a new disk; `{0,0}` when only a name is known (chowned in the guest). */
  diskOwner: RunAs;
  diskSizeBytes: number;
  copyLimits: ExtractTarOptions;
  emit: (event: CacheEvent) => void;
  signal: AbortSignal | undefined;
}

/**
 * Takes a private copy of a cache's current version into `cache-tmp/` while holding the cache's
 * lock (so no commit removes the version under us): a reflink copy of the tree, or a hard link
 * to the immutable qcow2 version with a fresh overlay on it. A new cache starts empty.
 */
export async function checkOutCache(o: CheckOutOptions): Promise<CacheHandle> {
  const { store, request, signal } = o;
  const lock = await store.lockCache(request.id, signal ? { signal } : {});
  const checkout = (() => {
    try {
      return store.checkoutCache(request.id);
    } catch (error) {
      lock.release();
      throw error;
    }
  })();
  try {
    const current = await currentVersion(store, request.id);
    const strategy = chooseStrategy(request.id, o.strategy, o.os, current?.kind);
    const generation = current?.generation ?? 0;
    const source = current ? join(store.cacheDir(request.id), current.entry) : undefined;
    const context = {
      ...request,
      generation,
      checkout,
      copyLimits: o.copyLimits,
      emit: o.emit,
      signal,
    };
    let handle: CacheHandle;
    if (strategy === "copy") {
      const tree = join(checkout.dir, TREE_DIR);
      if (source) await copyTree(source, tree, signal);
      else await mkdir(tree);
      handle = new CopyCache(context);
    } else {
      const base = join(checkout.dir, BASE_DISK);
      const uuid = cacheFilesystemUuid(request.id);
      if (!source) {
        await createCacheDisk({ path: base, uuid, owner: o.diskOwner, sizeBytes: o.diskSizeBytes });
      } else {
        // Versions are never written after they are installed, so a link is a safe snapshot;
        // EXDEV (cache/ and cache-tmp/ on different mounts) falls back to a copy.
        await link(source, base).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "EXDEV") throw error;
          return runTool("cp", ["--reflink=auto", "--sparse=always", source, base], signal);
        });
      }
      await createOverlay(checkout.dir, BASE_DISK, OVERLAY_DISK);
      handle = new DiskCache(context, uuid);
    }
    o.emit({ type: "checkout", cache: request.id, strategy, generation });
    return handle;
  } catch (error) {
    await checkout.remove();
    throw error;
  } finally {
    lock.release();
  }
}
