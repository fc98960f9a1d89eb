import type { HostToolFailure } from "@strata/host-tool";

/** Stable codes of every error the store throws; callers branch on these, never on messages. */
export type StoreErrorCode =
  | "STORE_OPTIONS"
  | "INVALID_LAYER_ID"
  | "LAYER_ID_AMBIGUOUS"
  | "INVALID_CACHE_NAME"
  | "STORE_LOCKED"
  | "STORE_NOT_OWNED"
  | "BASE_IMAGE_MISSING"
  | "BASE_IMAGE_MANIFEST_INVALID"
  | "DISK_FULL"
  | "LAYER_CORRUPT"
  | "LAYER_NOT_FOUND"
  | "LAYER_IN_USE"
  | "STEP_FAILED"
  | "STEP_CANCELLED"
  | "STEP_WAIT_TIMEOUT"
  | "QEMU_IMG_FAILED";

/** Base class of every error the store throws; callers branch on `code`, never on the message. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option or argument was rejected at the boundary, before any side effect. */
export class StoreOptionsError extends StoreError {
  constructor(message: string) {
    super("STORE_OPTIONS", message);
  }
}

/** A layer ID is not 64 lowercase hex characters (a SHA-256 digest). */
export class InvalidLayerIdError extends StoreError {
  readonly id: string;
  constructor(id: string) {
    super(
      "INVALID_LAYER_ID",
      `Invalid layer ID ${JSON.stringify(id)}: expected 64 lowercase hex characters (a SHA-256 digest), or a prefix of at least 4 where a command takes a layer ID.`,
    );
    this.id = id;
  }
}

/** A layer ID prefix that several layers start with. */
export class AmbiguousLayerIdError extends StoreError {
  readonly prefix: string;
  readonly candidates: readonly string[];
  constructor(prefix: string, candidates: readonly string[]) {
    const shown = candidates.slice(0, 10).join(", ");
    const more = candidates.length > 10 ? ` and ${candidates.length - 10} more` : "";
    super(
      "LAYER_ID_AMBIGUOUS",
      `Layer ID prefix "${prefix}" matches ${candidates.length} layers: ${shown}${more}; give more characters.`,
    );
    this.prefix = prefix;
    this.candidates = candidates;
  }
}

/** A cache name cannot be turned into a directory name. */
export class InvalidCacheNameError extends StoreError {
  constructor(name: string, reason: string) {
    super("INVALID_CACHE_NAME", `Invalid cache name ${JSON.stringify(name)}: ${reason}.`);
  }
}

/** The store (its database or a lock) is held by another process for longer than we may wait. */
export class StoreLockedError extends StoreError {
  constructor(what: string, options?: { cause?: unknown; owner?: string }) {
    super(
      "STORE_LOCKED",
      `${what} is locked${options?.owner ? ` by ${options.owner}` : ""}. Wait for the other strata process to finish, or stop it, then retry.`,
      options,
    );
  }
}

/** `(from NAME)` names a base image that is not in `<store>/base-image/`. */
export class BaseImageMissingError extends StoreError {
  readonly imageName: string;
  readonly path: string;
  constructor(name: string, path: string, storeRoot: string) {
    super(
      "BASE_IMAGE_MISSING",
      `Base image ${JSON.stringify(name)} not found: looked for ${path}. Build one with \`strata-image build ${name} --store ${storeRoot}\` (for example \`strata-image build debian-bookworm --store ${storeRoot}\`), or copy a qcow2 image there.`,
    );
    this.imageName = name;
    this.path = path;
  }
}

/** A base image's manifest (`<name>.json`) is not valid JSON. */
export class BaseImageManifestError extends StoreError {
  constructor(path: string, cause: unknown) {
    super(
      "BASE_IMAGE_MANIFEST_INVALID",
      `The manifest ${path} is not valid JSON. Fix or delete it (without one, OBuilder's defaults apply).`,
      { cause },
    );
  }
}

/** The disk filled up; the step was stopped and nothing half-written was kept. */
export class DiskFullError extends StoreError {
  constructor(where: string, options?: { cause?: unknown }) {
    super(
      "DISK_FULL",
      `No space left on the device while ${where}. Nothing half-written was kept. Free space with \`strata prune --keep-free 10\` or \`strata clean\`, then retry.`,
      options,
    );
  }
}

/** A stored layer is damaged: its image, metadata or backing chain is missing or unreadable. */
export class LayerCorruptError extends StoreError {
  readonly id: string;
  constructor(id: string, problem: string, options?: { cause?: unknown }) {
    super(
      "LAYER_CORRUPT",
      `Layer ${id} is corrupt: ${problem}. Run \`strata store check --repair\` to remove it (it will be rebuilt when needed).`,
      options,
    );
    this.id = id;
  }
}

/** No finished layer has this ID. */
export class LayerNotFoundError extends StoreError {
  readonly id: string;
  constructor(id: string) {
    super("LAYER_NOT_FOUND", `No layer ${id} in the store. \`strata ls\` lists the layers.`);
    this.id = id;
  }
}

/** A layer cannot be removed because a running build uses it (or a layer built on it). */
export class LayerInUseError extends StoreError {
  readonly id: string;
  constructor(id: string, user: string) {
    super(
      "LAYER_IN_USE",
      `Layer ${id} is in use by a running build (${user}). Retry once that build has finished.`,
    );
    this.id = id;
  }
}

/** The shared run of a step failed; every client waiting for it gets this error. */
export class StepFailedError extends StoreError {
  readonly id: string;
  constructor(id: string, reason: string, options?: { cause?: unknown }) {
    super("STEP_FAILED", `The step building ${id} failed: ${reason}`, options);
    this.id = id;
  }
}

/** The caller's signal was aborted before the step finished. */
export class StepCancelledError extends StoreError {
  readonly id: string;
  constructor(id: string, options?: { cause?: unknown }) {
    super("STEP_CANCELLED", `Building ${id} was cancelled.`, options);
    this.id = id;
  }
}

/** Another process has built a step for longer than the store's `stepWaitTimeoutMs`. */
export class StepWaitTimeoutError extends StoreError {
  readonly id: string;
  readonly owner: string;
  readonly lockPath: string;
  constructor(id: string, owner: string, lockPath: string, waitedMs: number) {
    super(
      "STEP_WAIT_TIMEOUT",
      `Gave up after ${Math.round(waitedMs / 60_000)} min waiting for step ${id}, which ${owner} is still building (it keeps ${lockPath} fresh). Stop that process if it is stuck, then retry; or wait for it to finish.`,
    );
    this.id = id;
    this.owner = owner;
    this.lockPath = lockPath;
  }
}

/** `qemu-img` failed; the message carries its command line and the tail of its stderr. */
export class QemuImgError extends StoreError {
  readonly command: string;
  /** The end of its output, bounded by the host-tool runner. */
  readonly stderr: string;
  readonly exitCode: number | undefined;
  constructor(failure: HostToolFailure, tail: string) {
    super(
      "QEMU_IMG_FAILED",
      `\`${failure.command}\` failed${failure.exitCode === undefined ? "" : ` with exit code ${failure.exitCode}`}: ${tail}`,
      { cause: failure },
    );
    this.command = failure.command;
    this.stderr = tail;
    this.exitCode = failure.exitCode;
  }
}

/**
 * True for Node's ENOSPC/EDQUOT, SQLite's SQLITE_FULL, and a tool (qemu-img, qemu-io, a step's
 * own process) that failed saying so: its error carries the text, not the code.
 */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof DiskFullError) return true;
  const { code, message, stderr } = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
    stderr?: unknown;
  };
  if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return true;
  const text = `${typeof message === "string" ? message : ""}\n${typeof stderr === "string" ? stderr : ""}`;
  return /No space left on device|Disk quota exceeded/i.test(text);
}
