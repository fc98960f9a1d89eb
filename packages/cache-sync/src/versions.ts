import { readdir } from "node:fs/promises";

/** How a cache version is stored: a directory tree (copy strategy) or an ext4 qcow2 disk. */
export type CacheKind = "tree" | "disk";

/** One complete version in `cache/<escaped>/`: `v<generation>.tree/` or `v<generation>.qcow2`. */
export interface CacheVersion {
  generation: number;
  kind: CacheKind;
  /** The entry's name in the cache directory. */
  entry: string;
}

const VERSION = /^v([1-9][0-9]{0,14})\.(tree|qcow2)$/;

/** The entry name of a version. */
export function versionEntry(generation: number, kind: CacheKind): string {
  return `v${generation}.${kind === "tree" ? "tree" : "qcow2"}`;
}

/**
 * Picks the current version among a cache directory's entries: the highest generation wins.
 * Versions only ever enter the directory by rename, complete, so any `v<N>` is whole; older ones
 * left by a crash between installing a new version and removing the old are `stale`.
 */
export function pickCurrentVersion(entries: readonly string[]): {
  current: CacheVersion | undefined;
  stale: CacheVersion[];
} {
  const versions: CacheVersion[] = [];
  for (const entry of entries) {
    const match = VERSION.exec(entry);
    if (!match) continue;
    versions.push({
      generation: Number(match[1]),
      kind: match[2] === "tree" ? "tree" : "disk",
      entry,
    });
  }
  versions.sort((a, b) => b.generation - a.generation);
  return { current: versions[0], stale: versions.slice(1) };
}

/** Reads `dir` (a cache's directory) and picks its current version; a missing dir has none. */
export async function readCacheVersions(
  dir: string,
): Promise<ReturnType<typeof pickCurrentVersion>> {
  try {
    return pickCurrentVersion(await readdir(dir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      return { current: undefined, stale: [] };
    throw error;
  }
}
