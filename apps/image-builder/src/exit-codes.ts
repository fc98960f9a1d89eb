/** Exit codes of `strata-image`, documented in apps/image-builder/README.md. */
export const EXIT_OK = 0;
/** The work failed (a setup script, an image build step). */
export const EXIT_FAILURE = 1;
/** Usage error or invalid input (bad flag, unknown recipe, bad archive). */
export const EXIT_USAGE = 2;
/** Host or store problem (missing tool, image missing or already there, download failed). */
export const EXIT_ENVIRONMENT = 3;
/** VM or SSH error (QEMU would not boot, first boot timed out, SSH refused). */
export const EXIT_VM = 4;
/** Interrupted by SIGINT (Ctrl-C). */
export const EXIT_INTERRUPTED = 130;

/** Error `code` → exit code. Known errors missing here exit with {@link EXIT_FAILURE}. */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  USAGE: EXIT_USAGE,
  IMAGE_INPUT_INVALID: EXIT_USAGE,
  IMAGE_ARCHIVE_INVALID: EXIT_USAGE,
  STORE_OPTIONS: EXIT_USAGE,
  QEMU_INVALID_OPTIONS: EXIT_USAGE,
  SSH_INVALID_OPTIONS: EXIT_USAGE,
  IMAGE_TOOL_MISSING: EXIT_ENVIRONMENT,
  IMAGE_NOT_FOUND: EXIT_ENVIRONMENT,
  IMAGE_EXISTS: EXIT_ENVIRONMENT,
  IMAGE_IN_USE: EXIT_ENVIRONMENT,
  IMAGE_DOWNLOAD_FAILED: EXIT_ENVIRONMENT,
  IMAGE_CHECKSUM_MISMATCH: EXIT_ENVIRONMENT,
  QEMU_INVALID_MANIFEST: EXIT_ENVIRONMENT,
  IMAGE_BUILD_FAILED: EXIT_FAILURE,
  IMAGE_FIRST_BOOT_TIMEOUT: EXIT_VM,
  IMAGE_FIRST_BOOT_FAILED: EXIT_VM,
  QEMU_BOOT_TIMEOUT: EXIT_VM,
  QEMU_EXITED: EXIT_VM,
  QEMU_START_FAILED: EXIT_VM,
  QEMU_PORT_IN_USE: EXIT_VM,
  QEMU_QMP_CLOSED: EXIT_VM,
  QEMU_QMP_ERROR: EXIT_VM,
  SSH_AUTH_FAILED: EXIT_VM,
  SSH_TIMEOUT: EXIT_VM,
  SSH_CONNECTION_LOST: EXIT_VM,
  SSH_COMMAND_FAILED: EXIT_VM,
  QEMU_CANCELLED: EXIT_INTERRUPTED,
  SSH_CANCELLED: EXIT_INTERRUPTED,
  ABORT_ERR: EXIT_INTERRUPTED,
};

export function exitCodeFor(code: string): number {
  return Object.hasOwn(EXIT_CODES, code) ? EXIT_CODES[code]! : EXIT_FAILURE;
}
