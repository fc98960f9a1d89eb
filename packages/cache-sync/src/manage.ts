import { randomUUID } from "node:crypto";
import { readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { allocatedBytes, type Store, unescapeCacheName } from "@strata/store";
import { CacheInUseError, CacheNotFoundError } from "./errors.js";
import { type CacheKind, readCacheVersions } from "./versions.js";

/** One cache of a store, as `strata cache ls` shows it. */
export interface CacheInfo {
  name: string;
  kind: CacheKind;
  generation: number;
  /** When the current version was installed. */
  updated: Date;
  /** Bytes allocated on the host by the cache's directory. */
  bytes: number;
  /** A running step has it checked out. */
  inUse: boolean;
}

/** Every cache in the store, by name; directories without a complete version are skipped. */
export async function listCaches(store: Store): Promise<CacheInfo[]> {
  const root = join(store.root, "cache");
  const entries = await readdir(root).catch(() => [] as string[]);
  const caches: CacheInfo[] = [];
  for (const entry of entries.sort()) {
    let name: string;
    try {
      name = unescapeCacheName(entry);
    } catch {
      continue;
    }
    const dir = store.cacheDir(name);
    const { current } = await readCacheVersions(dir);
    if (!current) continue;
    caches.push({
      name,
      kind: current.kind,
      generation: current.generation,
      updated: (await stat(join(dir, current.entry))).mtime,
      bytes: await allocatedBytes(dir),
      inUse: store.cacheInUse(name),
    });
  }
  return caches;
}

/**
 * Removes cache `name`; refused (CACHE_IN_USE) while a running step has it checked out. Under
 * the cache's lock, which checkouts also take, so no step can check it out while it goes.
 */
export async function removeCache(store: Store, name: string): Promise<void> {
  const trash = join(store.cacheTmpDir(), `trash-${randomUUID()}`);
  {
    await using _lock = await store.lockCache(name);
    if (store.cacheInUse(name)) throw new CacheInUseError(name);
    try {
      await rename(store.cacheDir(name), trash);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new CacheNotFoundError(name);
      throw error;
    }
  }
  await rm(trash, { recursive: true, force: true });
}
