import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { escapeCacheName } from "./cache-name.js";
import { removeTree, type StoreContext } from "./context.js";
import { StoreLockedError } from "./errors.js";
import { isLockHeld, type LockOwner, releaseLockFile, tryAcquireLockFile } from "./lock-file.js";
import { describeProcess } from "./process-identity.js";

/** Exclusive use of one cache name, across processes. */
export interface CacheLock extends AsyncDisposable {
  readonly name: string;
  /** `cache/<escaped>/`: the latest version of the cache. */
  readonly dir: string;
  release(): void;
}

/** Options of {@link lockCache}. */
export interface LockCacheOptions {
  signal?: AbortSignal;
  /** @default DEFAULT_CACHE_LOCK_TIMEOUT_MS */
  timeoutMs?: number;
}

/** Cache updates are short (a rename); waiting longer than this means something is stuck. */
export const DEFAULT_CACHE_LOCK_TIMEOUT_MS = 10 * 60 * 1000;
const POLL_MS = 50;

/** Takes the lock of cache `name` (`state/locks/cache-<escaped>.lock`), waiting for it if held. */
export async function lockCache(
  ctx: StoreContext,
  name: string,
  options: LockCacheOptions = {},
): Promise<CacheLock> {
  const escaped = escapeCacheName(name);
  const path = join(ctx.layout.locksDir, `cache-${escaped}.lock`);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_CACHE_LOCK_TIMEOUT_MS);
  for (;;) {
    options.signal?.throwIfAborted();
    const attempt = ctx.mutex(`locking cache ${name}`, () =>
      tryAcquireLockFile(path, ctx.lockRules),
    );
    if ("acquired" in attempt) {
      const owner: LockOwner = attempt.acquired;
      const release = () => releaseLockFile(path, owner);
      return {
        name,
        dir: join(ctx.layout.cacheDir, escaped),
        release,
        [Symbol.asyncDispose]: async () => release(),
      };
    }
    if (Date.now() >= deadline) {
      throw new StoreLockedError(`Cache ${JSON.stringify(name)}`, {
        owner: describeProcess(attempt.heldBy),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** A private scratch directory in `cache-tmp/`, kept from start-up wiping while we live. */
export interface CacheCheckout extends AsyncDisposable {
  readonly dir: string;
  /** Removes the directory and its lock. */
  remove(): Promise<void>;
}

/** Creates `cache-tmp/<escaped>-<uuid>/` with a lock beside it naming this process. */
export function createCacheCheckout(ctx: StoreContext, name: string): CacheCheckout {
  const dir = join(ctx.layout.cacheTmpDir, `${escapeCacheName(name)}-${randomUUID()}`);
  const lockPath = `${dir}.lock`;
  const owner = ctx.mutex(`checking out cache ${name}`, () => {
    const attempt = tryAcquireLockFile(lockPath, ctx.lockRules);
    if (!("acquired" in attempt)) throw new StoreLockedError(`The fresh lock ${lockPath}`);
    mkdirSync(dir);
    return attempt.acquired;
  });
  const remove = async () => {
    await removeTree(dir);
    releaseLockFile(lockPath, owner);
  };
  return { dir, remove, [Symbol.asyncDispose]: remove };
}

const CHECKOUT_LOCK = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.lock$/;

/**
 * True while a live process holds a checkout of cache `name` (`cache-tmp/<escaped>-<uuid>.lock`).
 * The UUID's exact shape keeps `a` from matching the checkouts of a cache named `a-<something>`.
 */
export function isCacheCheckedOut(ctx: StoreContext, name: string): boolean {
  const prefix = `${escapeCacheName(name)}-`;
  return readdirSync(ctx.layout.cacheTmpDir).some(
    (entry) =>
      entry.startsWith(prefix) &&
      CHECKOUT_LOCK.test(entry.slice(prefix.length)) &&
      isLockHeld(join(ctx.layout.cacheTmpDir, entry), ctx.lockRules),
  );
}
