import { randomUUID } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "@strata/store";
import { type CacheKind, type CacheVersion, readCacheVersions, versionEntry } from "./versions.js";

/** What happened to a checkout at commit. */
export type CommitOutcome =
  /** It became the cache's new version. */
  | "committed"
  /** Dropped: the cache got a new version since this checkout was taken (the first commit wins). */
  | "stale"
  /** Dropped: the copy did not come back whole (transfer broke, unmount failed, never attached). */
  | "incomplete";

/** The current version of cache `name`, read while holding its lock. */
export async function currentVersion(
  store: Store,
  name: string,
): Promise<CacheVersion | undefined> {
  return (await readCacheVersions(store.cacheDir(name))).current;
}

/**
 * Installs `built` (a directory tree or a qcow2 file inside a checkout) as version
 * `generation + 1` of cache `name` if its current generation is still `generation`; otherwise
 * leaves the cache alone and returns "stale". Under the cache's lock: the rename is the commit
 * point, so a crash leaves either the old version or the new one (plus the old, which the next
 * commit clears). Replaced versions go to `cache-tmp/trash-*`, removed after the lock is
 * released (and by start-up recovery if we die first).
 */
export async function installVersion(
  store: Store,
  name: string,
  generation: number,
  kind: CacheKind,
  built: string,
  signal?: AbortSignal,
): Promise<{ outcome: "committed" | "stale"; generation: number }> {
  const trash: string[] = [];
  const result = await (async () => {
    await using _lock = await store.lockCache(name, signal ? { signal } : {});
    const dir = store.cacheDir(name);
    const { current, stale } = await readCacheVersions(dir);
    const now = current?.generation ?? 0;
    if (now !== generation) return { outcome: "stale" as const, generation: now };
    await mkdir(dir, { recursive: true });
    await rename(built, join(dir, versionEntry(generation + 1, kind)));
    for (const old of current ? [current, ...stale] : stale) {
      const to = join(store.cacheTmpDir(), `trash-${randomUUID()}`);
      await rename(join(dir, old.entry), to);
      trash.push(to);
    }
    return { outcome: "committed" as const, generation: generation + 1 };
  })();
  for (const path of trash) await rm(path, { recursive: true, force: true });
  return result;
}
