import type { DriveSpec } from "@strata/qemu-runner";
import type { RunAs, SshSession } from "@strata/ssh-transport";
import type { CacheHandle } from "./cache-handle.js";
import { checkOutCache } from "./checkout.js";
import { CacheToolError, CacheTransferFailedError } from "./errors.js";
import type { CacheEvent } from "./events.js";
import { lookupUserCommand, parseUserIds } from "./guest-commands.js";
import {
  DEFAULT_CACHE_COPY_MAX_BYTES,
  DEFAULT_CACHE_COPY_MAX_ENTRIES,
  DEFAULT_CACHE_DISK_SIZE_BYTES,
} from "./host-tools.js";
import { type CacheUser, type OpenCachesOptions, validateOpenCachesOptions } from "./options.js";
import { kindOf } from "./strategy.js";
import { type CommitOutcome, currentVersion, installVersion } from "./versions-io.js";

/** What {@link StepCaches.commit} did with one cache. */
export interface CacheCommitResult {
  cache: string;
  outcome: CommitOutcome;
  /** The cache's generation afterwards. */
  generation: number;
}

/** The caches of one step, checked out; see the package README for the order of calls. */
export interface StepCaches extends AsyncDisposable {
  /** Give these to `startVm` (disk strategy), before boot. */
  readonly drives: DriveSpec[];
  /** After SSH is up, before the command: mounts the disks / copies the caches in, owned by the step's user. */
  attach(ssh: SshSession): Promise<void>;
  /**
   * After the command, success or failure: copies back / syncs and unmounts every cache, then
   * throws CacheTransferFailedError if any did not come back whole (those are never committed).
   */
  detach(ssh: SshSession): Promise<void>;
  /** After the VM stopped: each whole checkout becomes its cache's new version unless the cache changed since. */
  commit(): Promise<CacheCommitResult[]>;
  /** Discards whatever was not committed; never replaces a cache. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Checks out every cache of a step (see {@link StepCaches}). */
export async function openCaches(o: OpenCachesOptions): Promise<StepCaches> {
  validateOpenCachesOptions(o);
  o.signal?.throwIfAborted();
  const emit = (event: CacheEvent) => o.onEvent?.(event);
  const handles: CacheHandle[] = [];
  try {
    for (const request of o.caches) {
      handles.push(
        await checkOutCache({
          store: o.store,
          request,
          strategy: o.strategy ?? "auto",
          os: o.os,
          diskOwner: "uid" in o.user ? o.user : { uid: 0, gid: 0 },
          diskSizeBytes: o.diskSizeBytes ?? DEFAULT_CACHE_DISK_SIZE_BYTES,
          copyLimits: {
            maxBytes: o.copyMaxBytes ?? DEFAULT_CACHE_COPY_MAX_BYTES,
            maxEntries: o.copyMaxEntries ?? DEFAULT_CACHE_COPY_MAX_ENTRIES,
          },
          emit,
          signal: o.signal,
        }),
      );
    }
  } catch (error) {
    for (const handle of handles) await handle.checkout.remove();
    throw error;
  }
  return new CheckedOutCaches(o, handles, emit);
}

class CheckedOutCaches implements StepCaches {
  readonly drives: DriveSpec[];
  readonly #o: OpenCachesOptions;
  readonly #handles: CacheHandle[];
  readonly #emit: (event: CacheEvent) => void;
  #open: Set<CacheHandle>;

  constructor(o: OpenCachesOptions, handles: CacheHandle[], emit: (e: CacheEvent) => void) {
    this.#o = o;
    this.#handles = handles;
    this.#emit = emit;
    this.#open = new Set(handles);
    this.drives = handles.flatMap((h) => (h.drive ? [h.drive] : []));
  }

  async attach(ssh: SshSession): Promise<void> {
    if (this.#handles.length === 0) return;
    const owner = await resolveOwner(ssh, this.#o.user, this.#o.signal);
    for (const handle of this.#handles) {
      try {
        await handle.attach(ssh, owner);
      } catch (error) {
        throw new CacheTransferFailedError("in", [{ cache: handle.id, error }]);
      }
    }
  }

  async detach(ssh: SshSession): Promise<void> {
    const failures: Array<{ cache: string; error: unknown }> = [];
    for (const handle of this.#handles) {
      try {
        await handle.detach(ssh);
      } catch (error) {
        failures.push({ cache: handle.id, error });
      }
    }
    if (failures.length > 0) throw new CacheTransferFailedError("out", failures);
  }

  async commit(): Promise<CacheCommitResult[]> {
    const results: CacheCommitResult[] = [];
    for (const handle of this.#handles) {
      if (!this.#open.has(handle)) continue;
      const result = await this.#commitOne(handle);
      this.#emit({ type: "commit", ...result });
      results.push(result);
      this.#open.delete(handle);
      await handle.checkout.remove();
    }
    return results;
  }

  async #commitOne(handle: CacheHandle): Promise<CacheCommitResult> {
    const { store, signal } = this.#o;
    const cache = handle.id;
    const generation = () => currentVersion(store, cache).then((v) => v?.generation ?? 0);
    if (!handle.complete) return { cache, outcome: "incomplete", generation: await generation() };
    // Cheap early answer; installVersion checks again under the lock, which is what counts.
    if ((await generation()) !== handle.generation) {
      return { cache, outcome: "stale", generation: await generation() };
    }
    let built: string;
    try {
      built = await handle.build(signal);
    } catch (error) {
      if (!(error instanceof CacheToolError)) throw error;
      // A damaged overlay (`qemu-img check` failed) did not come back whole either.
      this.#emit({ type: "warning", cache, message: error.message });
      return { cache, outcome: "incomplete", generation: await generation() };
    }
    const kind = kindOf(handle.strategy);
    return {
      cache,
      ...(await installVersion(store, cache, handle.generation, kind, built, signal)),
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const handle of this.#open) await handle.checkout.remove();
    this.#open.clear();
  }
}

/** The uid/gid files in the guest get: given, or looked up by name (POSIX guests). */
async function resolveOwner(
  ssh: SshSession,
  user: CacheUser,
  signal: AbortSignal | undefined,
): Promise<RunAs> {
  if ("uid" in user) return user;
  // Windows: everything runs as the SSH user; the ids are not used.
  if (ssh.dialect === "cmd") return { uid: 0, gid: 0 };
  const result = await ssh.exec(lookupUserCommand(user.name), { raw: true, check: true, signal });
  const ids = parseUserIds(result.stdout);
  if (!ids) {
    throw new CacheTransferFailedError("in", [
      {
        cache: "*",
        error: new Error(`cannot read the ids of user ${user.name}: ${result.stdout}`),
      },
    ]);
  }
  return ids;
}
