import type { HostToolFailure } from "@strata/host-tool";
/** Stable codes of every error this package throws; callers branch on these, never on messages. */
export type CacheErrorCode =
  | "CACHE_OPTIONS"
  | "CACHE_IN_USE"
  | "CACHE_NOT_FOUND"
  | "CACHE_STRATEGY_MISMATCH"
  | "CACHE_TRANSFER_FAILED"
  | "CACHE_TOOL_FAILED";

/** Base class of the errors of @strata/cache-sync. */
export class CacheError extends Error {
  readonly code: CacheErrorCode;
  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Options rejected at the boundary, before any side effect; lists every problem. */
export class CacheOptionsError extends CacheError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super("CACHE_OPTIONS", `Invalid cache options:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

/** `cache rm` of a cache that a running step has checked out. */
export class CacheInUseError extends CacheError {
  readonly cache: string;
  constructor(cache: string) {
    super(
      "CACHE_IN_USE",
      `Cache ${JSON.stringify(cache)} is in use by a running build; wait for it to finish, then retry.`,
    );
    this.cache = cache;
  }
}

export class CacheNotFoundError extends CacheError {
  readonly cache: string;
  constructor(cache: string) {
    super(
      "CACHE_NOT_FOUND",
      `No cache named ${JSON.stringify(cache)} in this store; "strata cache ls" lists them.`,
    );
    this.cache = cache;
  }
}

/** The cache exists in a form the requested strategy cannot use (a directory tree vs a disk). */
export class CacheStrategyMismatchError extends CacheError {
  readonly cache: string;
  constructor(cache: string, stored: string, requested: string) {
    super(
      "CACHE_STRATEGY_MISMATCH",
      `Cache ${JSON.stringify(cache)} is stored for the "${stored}" strategy, not "${requested}"; ` +
        `use strategy "${stored}" (or "auto"), or remove it with "strata cache rm ${cache}".`,
    );
    this.cache = cache;
  }
}

/** Bringing a cache into the guest or back failed: that copy never replaces the cache. */
export class CacheTransferFailedError extends CacheError {
  /** Each failed cache and what went wrong. */
  readonly failures: ReadonlyArray<{ cache: string; error: unknown }>;
  constructor(direction: "in" | "out", failures: ReadonlyArray<{ cache: string; error: unknown }>) {
    const lines = failures.map(
      ({ cache, error }) => `${cache}: ${error instanceof Error ? error.message : String(error)}`,
    );
    super(
      "CACHE_TRANSFER_FAILED",
      `Could not bring cache${failures.length > 1 ? "s" : ""} ${direction === "in" ? "into" : "back from"} the guest ` +
        `(${direction === "out" ? "the caches keep their previous version" : "the step cannot run"}):\n  ${lines.join("\n  ")}`,
      { cause: failures[0]?.error },
    );
    this.failures = failures;
  }
}

/** A host tool (qemu-img, mke2fs, debugfs, cp) failed; carries its command line and stderr tail. */
export class CacheToolError extends CacheError {
  readonly command: string;
  readonly exitCode: number | undefined;
  /** The end of its output, bounded by the host-tool runner. */
  readonly stderr: string;
  constructor(failure: HostToolFailure) {
    super(
      "CACHE_TOOL_FAILED",
      `${failure.command} ${failure.timedOut ? "timed out" : `failed${failure.exitCode === undefined ? "" : ` with exit code ${failure.exitCode}`}`}: ${failure.tail.trim() || "(no output)"}. ` +
        "Check that qemu-utils and e2fsprogs are installed and the store's disk has room.",
      { cause: failure },
    );
    this.command = failure.command;
    this.exitCode = failure.exitCode;
    this.stderr = failure.tail;
  }
}
