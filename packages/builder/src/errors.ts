/** Stable codes of every error the build engine throws; callers branch on these. */
export type BuildErrorCode =
  | "BUILD_STEP_FAILED"
  | "STEP_TIMEOUT"
  | "COPY_FAILED"
  | "COPY_SOURCE_INVALID"
  | "GUEST_QUIESCE_FAILED"
  | "SECRET_MISSING"
  | "SECRET_TOO_LARGE"
  | "SECRET_LEAKED"
  | "SECRET_REMOVE_FAILED"
  | "SECRET_INSTALL_FAILED"
  | "SECRET_KEY_INVALID"
  | "SECRET_DISK_FAILED"
  | "GUEST_USER_UNKNOWN"
  | "GUEST_SHUTDOWN_FAILED"
  | "GUEST_ARCH_MISMATCH"
  | "LAYER_NOT_FOUND"
  | "COPY_OUT_SOURCE_MISSING"
  | "COPY_OUT_PATH_INVALID"
  | "COPY_OUT_DEST_INVALID"
  | "SPEC_INVALID"
  | "UNSUPPORTED";

/** Base class of build-engine errors: a stable `code`, the cause, a message that says what to do. */
export class BuildError extends Error {
  readonly code: BuildErrorCode;
  constructor(code: BuildErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A `run` step's command exited non-zero (or was killed by a signal). */
export class BuildStepFailedError extends BuildError {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    options?: { cause?: unknown },
  ) {
    const status = signal ? `killed by signal ${signal}` : `exit status ${exitCode}`;
    super("BUILD_STEP_FAILED", `Build step failed: ${command}: ${status}`, options);
  }
}

/** A `copy` names a source that does not exist or leaves the context. */
export class CopySourceError extends BuildError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super("COPY_SOURCE_INVALID", message);
  }
}

/** A secret named by a step was not given with `--secret ID:FILE`, or its file is unreadable. */
export class SecretMissingError extends BuildError {
  constructor(
    readonly secretId: string,
    message: string,
  ) {
    super("SECRET_MISSING", message);
  }
}

/** A step ran past its time limit. */
export class StepTimeoutError extends BuildError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(
      "STEP_TIMEOUT",
      `Build step timed out after ${Math.round(timeoutMs / 1000)} s: ${command}`,
    );
  }
}

/**
 * The guest's root file system could not be flushed and checkpointed before its layer was cut:
 * a reader of the disk that does not replay the journal would miss the step's last writes.
 */
export class GuestQuiesceError extends BuildError {
  constructor(
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(
      "GUEST_QUIESCE_FAILED",
      `could not flush the guest's root file system before saving the layer (sync + fsfreeze, exit ${exitCode}): ${stderr.trim() || "no message"}; the image needs util-linux's fsfreeze and a root file system that supports freezing (ext4, xfs, btrfs)`,
      options,
    );
  }
}

/**
 * The guest did not power off after ACPI power-down: its disk may be inconsistent, so the layer is
 * not kept. Usually a step left a process that blocks shutdown, or the machine is overloaded.
 */
export class GuestShutdownError extends BuildError {
  constructor(readonly timeoutMs: number) {
    super(
      "GUEST_SHUTDOWN_FAILED",
      `The guest did not power off within ${Math.round(timeoutMs / 1000)} s after ACPI power-down, so its disk may be inconsistent and the layer was not kept. Check that the step leaves no process that blocks shutdown, then retry.`,
    );
  }
}

/**
 * A secret could not be taken away after its step (a process still holds it open, or the step
 * stacked mounts that will not go): the step fails, so no layer or VM state keeps the secret.
 */
export class SecretRemoveError extends BuildError {
  constructor(
    readonly secretIds: readonly string[],
    readonly detail: string,
  ) {
    super(
      "SECRET_REMOVE_FAILED",
      `the secrets of this step (${secretIds.join(", ")}) could not be removed from the guest, so the step fails: ${detail}. A step must not leave processes holding a secret open.`,
    );
  }
}

/** A step wrote the value of a secret into its own layer: the layer is not kept. */
export class SecretLeakError extends BuildError {
  constructor(readonly secretId: string) {
    super(
      "SECRET_LEAKED",
      `the step's layer disk contains the value of secret "${secretId}", so it is not kept: read the secret where it is mounted and never copy it into a file (deleted files count: their blocks stay on the disk)`,
    );
  }
}

/** A secret could not be put in place in the guest before its step. */
export class SecretInstallError extends BuildError {
  constructor(
    readonly secretIds: readonly string[],
    readonly detail: string,
  ) {
    super(
      "SECRET_INSTALL_FAILED",
      `the secrets of this step (${secretIds.join(", ")}) could not be put in place in the guest: ${detail}`,
    );
  }
}

/** `strata cp` / `build --output`: a guest path that is missing or not absolute, or a DEST that cannot take the copy. */
export class CopyOutError extends BuildError {
  constructor(
    code: "COPY_OUT_SOURCE_MISSING" | "COPY_OUT_PATH_INVALID" | "COPY_OUT_DEST_INVALID",
    readonly path: string,
    message: string,
  ) {
    super(code, message);
  }
}
