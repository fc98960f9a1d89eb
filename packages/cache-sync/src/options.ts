import type { GuestOs } from "@strata/qemu-runner";
import type { Store } from "@strata/store";
import { escapeCacheName } from "@strata/store";
import { CacheOptionsError } from "./errors.js";
import type { CacheEvent } from "./events.js";
import type { CacheStrategy } from "./strategy.js";

/** One `(cache (ID (target PATH)))` of a `run` step. */
export interface CacheMountRequest {
  id: string;
  /** Absolute path in the guest (`/home/opam/.cache`, `/Users/opam/AppData/Local/opam/download-cache`). */
  target: string;
}

/** The step's user: a new cache is empty and owned by them. */
export type CacheUser = { uid: number; gid: number } | { name: string };

/** Options of {@link openCaches}. */
export interface OpenCachesOptions {
  store: Store;
  caches: readonly CacheMountRequest[];
  os: GuestOs;
  /**
   * `auto` keeps what an existing cache is (tree → copy, disk → disk), else `disk` for Linux
   * guests and `copy` for the others.
   * @default "auto"
   */
  strategy?: CacheStrategy | "auto";
  /** Ignored for Windows guests, where commands run as the SSH user. */
  user: CacheUser;
  /** Virtual size of a new cache disk (sparse). @default DEFAULT_CACHE_DISK_SIZE_BYTES */
  diskSizeBytes?: number;
  /**
   * Most bytes of file content a `copy` cache may bring back from the guest: a bigger (or
   * hostile) stream is refused, that copy is not committed and the cache keeps its previous
   * version. @default DEFAULT_CACHE_COPY_MAX_BYTES
   */
  copyMaxBytes?: number;
  /** Most entries (files, directories, links) a `copy` cache may bring back. @default DEFAULT_CACHE_COPY_MAX_ENTRIES */
  copyMaxEntries?: number;
  signal?: AbortSignal;
  onEvent?: (event: CacheEvent) => void;
}

const OSES: readonly string[] = ["linux", "windows", "openbsd", "freebsd"];
const STRATEGIES: readonly string[] = ["auto", "copy", "disk"];
// cmd.exe expands % and ! even inside quotes, and " cannot be quoted at all: refuse them (none of
// them may appear in a Windows file name except % and !, which no cache path needs).
const WINDOWS_PATH = /^(?:[A-Za-z]:)?[\\/](?:[^"%!<>|*?\0-\x1f]*)$/;

/** Problems with one target path, for the guest's OS; empty when it is fine. */
export function targetProblems(target: string, os: GuestOs): string[] {
  if (typeof target !== "string" || target === "") return ["must be a non-empty path"];
  const problems: string[] = [];
  if (os === "windows") {
    if (!WINDOWS_PATH.test(target)) {
      problems.push(
        'must be absolute (/Users/..., C:\\...) without " % ! < > | * ? or control characters',
      );
    }
  } else if (!target.startsWith("/")) problems.push("must be an absolute path");
  else if (/[\0\n\r]/.test(target)) problems.push("must not contain NUL or line breaks");
  const segments = target.split(/[\\/]/).filter((s) => s !== "" && !/^[A-Za-z]:$/.test(s));
  if (segments.length === 0) problems.push("must not be the root directory");
  if (segments.includes("..") || segments.includes("."))
    problems.push('must not contain "." or ".."');
  return problems;
}

/** Checks every option before any side effect; throws one error listing all problems. */
export function validateOpenCachesOptions(o: OpenCachesOptions): void {
  const problems: string[] = [];
  if (!o.store) problems.push("store: is required");
  if (!OSES.includes(o.os))
    problems.push(`os: must be one of ${OSES.join(", ")} (got ${String(o.os)})`);
  if (o.strategy !== undefined && !STRATEGIES.includes(o.strategy)) {
    problems.push(`strategy: must be one of ${STRATEGIES.join(", ")} (got ${String(o.strategy)})`);
  }
  if (
    o.diskSizeBytes !== undefined &&
    !(Number.isSafeInteger(o.diskSizeBytes) && o.diskSizeBytes >= 2 ** 24)
  ) {
    problems.push("diskSizeBytes: must be a whole number of bytes, at least 16 MiB");
  }
  for (const key of ["copyMaxBytes", "copyMaxEntries"] as const) {
    const n = o[key];
    if (n !== undefined && !(Number.isSafeInteger(n) && n > 0))
      problems.push(`${key}: must be a whole number above 0`);
  }
  const user = o.user as Partial<{ uid: number; gid: number; name: string }> | undefined;
  const id = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
  if (!user) problems.push("user: is required");
  else if ("name" in user) {
    if (typeof user.name !== "string" || !/^[A-Za-z_][A-Za-z0-9_.-]*\$?$/.test(user.name)) {
      problems.push(`user.name: ${JSON.stringify(user.name)} is not a user name`);
    }
  } else if (!id(user.uid) || !id(user.gid)) {
    problems.push("user: must be { uid, gid } (whole numbers >= 0) or { name }");
  }
  if (!Array.isArray(o.caches)) problems.push("caches: must be an array");
  const ids = new Set<string>();
  const targets = new Set<string>();
  for (const [i, cache] of (Array.isArray(o.caches) ? o.caches : []).entries()) {
    try {
      escapeCacheName(cache.id);
    } catch (error) {
      problems.push(`caches[${i}].id: ${(error as Error).message}`);
    }
    if (ids.has(cache.id))
      problems.push(`caches[${i}].id: ${JSON.stringify(cache.id)} is given twice`);
    ids.add(cache.id);
    for (const p of targetProblems(cache.target, OSES.includes(o.os) ? o.os : "linux")) {
      problems.push(`caches[${i}].target: ${p}`);
    }
    if (targets.has(cache.target))
      problems.push(`caches[${i}].target: ${cache.target} is given twice`);
    targets.add(cache.target);
  }
  if (problems.length > 0) throw new CacheOptionsError(problems);
}
