/** Exit codes of `strata`, documented in apps/cli/README.md. */
export const EXIT_OK = 0;
/** A build step failed, or `fmt --check` found files to reformat. */
export const EXIT_FAILURE = 1;
/** Usage error or invalid input (bad flag, bad spec). */
export const EXIT_USAGE = 2;
/** Store or host environment error (locked store, missing tool, disk). */
export const EXIT_ENVIRONMENT = 3;
/** VM or SSH error (QEMU would not boot, SSH refused). */
export const EXIT_VM = 4;
/** Interrupted by SIGINT (Ctrl-C). */
export const EXIT_INTERRUPTED = 130;

/**
 * Error `code` → exit code: the one table to extend when a package adds an error code.
 * Known errors whose code is missing here exit with {@link EXIT_FAILURE}.
 */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  // usage and input
  USAGE: EXIT_USAGE,
  INPUT_UNREADABLE: EXIT_USAGE,
  SPEC_SYNTAX: EXIT_USAGE,
  SPEC_INVALID: EXIT_USAGE,
  DOCKERFILE_UNSUPPORTED: EXIT_USAGE,
  // @strata/store: bad input is a usage error, a failed step a failure, the rest environment
  INVALID_LAYER_ID: EXIT_USAGE,
  INVALID_CACHE_NAME: EXIT_USAGE,
  STORE_OPTIONS: EXIT_USAGE,
  STEP_FAILED: EXIT_FAILURE,
  STEP_CANCELLED: EXIT_INTERRUPTED,
  STORE_LOCKED: EXIT_ENVIRONMENT,
  BASE_IMAGE_MISSING: EXIT_ENVIRONMENT,
  BASE_IMAGE_MANIFEST_INVALID: EXIT_ENVIRONMENT,
  DISK_FULL: EXIT_ENVIRONMENT,
  LAYER_CORRUPT: EXIT_ENVIRONMENT,
  LAYER_NOT_FOUND: EXIT_ENVIRONMENT,
  LAYER_IN_USE: EXIT_ENVIRONMENT,
  QEMU_IMG_FAILED: EXIT_ENVIRONMENT,
  // @strata/builder
  BUILD_STEP_FAILED: EXIT_FAILURE,
  STEP_TIMEOUT: EXIT_FAILURE,
  COPY_FAILED: EXIT_FAILURE,
  GUEST_USER_UNKNOWN: EXIT_FAILURE,
  SECRET_MISSING: EXIT_USAGE,
  COPY_SOURCE_INVALID: EXIT_USAGE,
  UNSUPPORTED: EXIT_USAGE,
  // @strata/qemu-runner and @strata/ssh-transport
  QEMU_BOOT_TIMEOUT: EXIT_VM,
  QEMU_EXITED: EXIT_VM,
  QEMU_START_FAILED: EXIT_VM,
  QEMU_PORT_IN_USE: EXIT_VM,
  QEMU_QMP_CLOSED: EXIT_VM,
  QEMU_QMP_ERROR: EXIT_VM,
  QEMU_INVALID_MANIFEST: EXIT_ENVIRONMENT,
  QEMU_INVALID_OPTIONS: EXIT_USAGE,
  QEMU_CANCELLED: EXIT_INTERRUPTED,
  SSH_AUTH_FAILED: EXIT_VM,
  SSH_TIMEOUT: EXIT_VM,
  SSH_CONNECTION_LOST: EXIT_VM,
  SSH_TRANSFER_FAILED: EXIT_VM,
  SSH_COMMAND_FAILED: EXIT_VM,
  SSH_INVALID_OPTIONS: EXIT_USAGE,
  SSH_CANCELLED: EXIT_INTERRUPTED,
  // @strata/image-builder
  IMAGE_TOOL_MISSING: EXIT_ENVIRONMENT,
  IMAGE_BUILD_FAILED: EXIT_ENVIRONMENT,
  IMAGE_INPUT_INVALID: EXIT_USAGE,
  // @strata/cache-sync
  CACHE_OPTIONS: EXIT_USAGE,
  CACHE_NOT_FOUND: EXIT_USAGE,
  CACHE_STRATEGY_MISMATCH: EXIT_USAGE,
  CACHE_IN_USE: EXIT_ENVIRONMENT,
  CACHE_TOOL_FAILED: EXIT_ENVIRONMENT,
  CACHE_TRANSFER_FAILED: EXIT_VM,
  // interruption (Node's AbortError)
  ABORT_ERR: EXIT_INTERRUPTED,
};

export function exitCodeFor(code: string): number {
  return Object.hasOwn(EXIT_CODES, code) ? EXIT_CODES[code]! : EXIT_FAILURE;
}
