import type { GuestOs } from "@strata/qemu-runner";
import { CacheStrategyMismatchError } from "./errors.js";
import type { CacheKind } from "./versions.js";

/** How a cache reaches the guest: copied over SSH, or attached as its own disk. */
export type CacheStrategy = "copy" | "disk";

/**
 * The strategy for one cache. `auto` follows what the cache already is (a tree is copied; a disk
 * is attached when the guest can mount ext4), else the OS default: `disk` on Linux, where the
 * cache is an ext4 image; `copy` on Windows and the BSDs, which mount no ext4 and get the cache
 * as a tar stream over SSH.
 */
export function chooseStrategy(
  cache: string,
  requested: CacheStrategy | "auto",
  os: GuestOs,
  stored: CacheKind | undefined,
): CacheStrategy {
  const storedStrategy: CacheStrategy | undefined =
    stored === undefined ? undefined : stored === "tree" ? "copy" : "disk";
  if (requested === "auto") {
    if (storedStrategy === "disk" && os !== "linux") {
      throw new CacheStrategyMismatchError(
        cache,
        "disk",
        `copy (the ${os} guest cannot mount ext4)`,
      );
    }
    return storedStrategy ?? (os === "linux" ? "disk" : "copy");
  }
  if (storedStrategy !== undefined && storedStrategy !== requested) {
    throw new CacheStrategyMismatchError(cache, storedStrategy, requested);
  }
  return requested;
}

export function kindOf(strategy: CacheStrategy): CacheKind {
  return strategy === "copy" ? "tree" : "disk";
}
