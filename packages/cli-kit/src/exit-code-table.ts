import type { BuildErrorCode } from "@strata/builder";
import type { CacheErrorCode } from "@strata/cache-sync";
import type { FleetErrorCode } from "@strata/fleet";
import type { HostToolErrorCode } from "@strata/host-tool";
import type { ImageErrorCode } from "@strata/image-builder";
import type { TransferErrorCode } from "@strata/layer-transfer";
import type { QemuErrorCode } from "@strata/qemu-runner";
import type { RegistryErrorCode } from "@strata/registry";
import type { ShellQuoteErrorCode } from "@strata/shell-quote";
import type { DockerfileError, SpecErrorCode } from "@strata/spec-parser";
import type { SshErrorCode } from "@strata/ssh-transport";
import type { StoreErrorCode } from "@strata/store";
import {
  EXIT_ENVIRONMENT,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_USAGE,
  EXIT_VM,
  type ExitStatus,
} from "./exit-codes.js";
import type { CliErrorCode } from "./input-error.js";

/** Every error code a strata package or app throws: the keys {@link EXIT_CODES} must cover. */
export type KnownErrorCode =
  | CliErrorCode
  | SpecErrorCode
  | DockerfileError["code"]
  | StoreErrorCode
  | BuildErrorCode
  | QemuErrorCode
  | SshErrorCode
  | ShellQuoteErrorCode
  | CacheErrorCode
  | ImageErrorCode
  | RegistryErrorCode
  | TransferErrorCode
  | FleetErrorCode
  | HostToolErrorCode;

/**
 * Error `code` → exit status, one table for both apps, so a code means the same status in each.
 * The compiler checks it against every package's code union: a code added to a package and not
 * mapped here does not build.
 */
export const EXIT_CODES = {
  // usage and input
  USAGE: EXIT_USAGE,
  INPUT_UNREADABLE: EXIT_USAGE,
  SPEC_SYNTAX: EXIT_USAGE,
  SPEC_INVALID: EXIT_USAGE,
  DOCKERFILE_UNSUPPORTED: EXIT_USAGE,
  // @strata/store: bad input is a usage error, a failed step a failure, the rest environment
  INVALID_LAYER_ID: EXIT_USAGE,
  LAYER_ID_AMBIGUOUS: EXIT_USAGE,
  INVALID_CACHE_NAME: EXIT_USAGE,
  STORE_OPTIONS: EXIT_USAGE,
  STEP_FAILED: EXIT_FAILURE,
  STEP_CANCELLED: EXIT_INTERRUPTED,
  STORE_LOCKED: EXIT_ENVIRONMENT,
  STORE_NOT_OWNED: EXIT_ENVIRONMENT,
  STEP_WAIT_TIMEOUT: EXIT_ENVIRONMENT,
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
  GUEST_QUIESCE_FAILED: EXIT_VM,
  GUEST_USER_UNKNOWN: EXIT_FAILURE,
  GUEST_SHUTDOWN_FAILED: EXIT_VM,
  GUEST_ARCH_MISMATCH: EXIT_USAGE,
  SECRET_MISSING: EXIT_USAGE,
  SECRET_TOO_LARGE: EXIT_USAGE,
  SECRET_LEAKED: EXIT_FAILURE,
  SECRET_REMOVE_FAILED: EXIT_FAILURE,
  SECRET_INSTALL_FAILED: EXIT_VM,
  SECRET_KEY_INVALID: EXIT_ENVIRONMENT,
  SECRET_DISK_FAILED: EXIT_ENVIRONMENT,
  COPY_SOURCE_INVALID: EXIT_USAGE,
  COPY_OUT_PATH_INVALID: EXIT_USAGE,
  COPY_OUT_DEST_INVALID: EXIT_USAGE,
  COPY_OUT_SOURCE_MISSING: EXIT_FAILURE,
  UNSUPPORTED: EXIT_USAGE,
  // @strata/qemu-runner
  QEMU_BOOT_TIMEOUT: EXIT_VM,
  QEMU_EXITED: EXIT_VM,
  QEMU_START_FAILED: EXIT_VM,
  QEMU_PORT_IN_USE: EXIT_VM,
  QEMU_NETWORK_SANDBOX: EXIT_ENVIRONMENT,
  QEMU_QMP_CLOSED: EXIT_VM,
  QEMU_QMP_ERROR: EXIT_VM,
  QEMU_STATE_FAILED: EXIT_VM,
  QEMU_HOTPLUG_FAILED: EXIT_VM,
  QEMU_INVALID_MANIFEST: EXIT_ENVIRONMENT,
  QEMU_IMAGE_NO_SSH: EXIT_ENVIRONMENT,
  QEMU_INVALID_OPTIONS: EXIT_USAGE,
  QEMU_CANCELLED: EXIT_INTERRUPTED,
  // @strata/ssh-transport
  SSH_AUTH_FAILED: EXIT_VM,
  SSH_HOST_KEY_MISMATCH: EXIT_VM,
  SSH_TIMEOUT: EXIT_VM,
  SSH_CONNECTION_LOST: EXIT_VM,
  SSH_TRANSFER_FAILED: EXIT_VM,
  SSH_TAR_REFUSED: EXIT_VM,
  SSH_TAR_TOO_LARGE: EXIT_VM,
  SSH_COMMAND_FAILED: EXIT_VM,
  SSH_INVALID_OPTIONS: EXIT_USAGE,
  SSH_KEY_INVALID: EXIT_ENVIRONMENT,
  SSH_CANCELLED: EXIT_INTERRUPTED,
  // @strata/shell-quote: a path or value no shell can carry (NUL, a line break for cmd.exe)
  SHELL_QUOTE_UNSAFE: EXIT_USAGE,
  // @strata/image-builder
  IMAGE_INPUT_INVALID: EXIT_USAGE,
  IMAGE_ARCHIVE_INVALID: EXIT_USAGE,
  IMAGE_NOT_FOUND: EXIT_ENVIRONMENT,
  IMAGE_EXISTS: EXIT_ENVIRONMENT,
  IMAGE_IN_USE: EXIT_ENVIRONMENT,
  IMAGE_DOWNLOAD_FAILED: EXIT_ENVIRONMENT,
  IMAGE_CHECKSUM_MISMATCH: EXIT_ENVIRONMENT,
  IMAGE_BUILD_FAILED: EXIT_FAILURE,
  IMAGE_FIRST_BOOT_TIMEOUT: EXIT_VM,
  IMAGE_FIRST_BOOT_FAILED: EXIT_VM,
  // @strata/host-tool: a tool not installed, or one that failed outside any package's own error
  HOST_TOOL_MISSING: EXIT_ENVIRONMENT,
  HOST_TOOL_FAILED: EXIT_ENVIRONMENT,
  // @strata/cache-sync
  CACHE_OPTIONS: EXIT_USAGE,
  CACHE_NOT_FOUND: EXIT_USAGE,
  CACHE_STRATEGY_MISMATCH: EXIT_USAGE,
  CACHE_IN_USE: EXIT_ENVIRONMENT,
  CACHE_TOOL_FAILED: EXIT_ENVIRONMENT,
  CACHE_TRANSFER_FAILED: EXIT_VM,
  // @strata/registry: a malformed reference or a refused plain-HTTP host is a usage error,
  // everything else about the registry the environment's
  REGISTRY_REFERENCE_INVALID: EXIT_USAGE,
  REGISTRY_INSECURE: EXIT_USAGE,
  REGISTRY_UNREACHABLE: EXIT_ENVIRONMENT,
  REGISTRY_TIMEOUT: EXIT_ENVIRONMENT,
  REGISTRY_AUTH: EXIT_ENVIRONMENT,
  REGISTRY_DENIED: EXIT_ENVIRONMENT,
  REGISTRY_NOT_FOUND: EXIT_ENVIRONMENT,
  REGISTRY_DIGEST_MISMATCH: EXIT_ENVIRONMENT,
  REGISTRY_PROTOCOL: EXIT_ENVIRONMENT,
  REGISTRY_CREDENTIAL_HELPER: EXIT_ENVIRONMENT,
  REGISTRY_CONFIG_INVALID: EXIT_ENVIRONMENT,
  // @strata/layer-transfer
  ARTIFACT_NOT_FOUND: EXIT_ENVIRONMENT,
  ARTIFACT_REFUSED: EXIT_ENVIRONMENT,
  TRANSFER_ZSTD: EXIT_ENVIRONMENT,
  // @strata/fleet (a remote build's own error keeps the worker's code, mapped above)
  FLEET_OPTIONS: EXIT_USAGE,
  FLEET_CONTEXT_TOO_LARGE: EXIT_USAGE,
  FLEET_WORKER_UNKNOWN: EXIT_USAGE,
  FLEET_JOB_UNKNOWN: EXIT_USAGE,
  FLEET_WORKER_ALIVE: EXIT_USAGE,
  FLEET_REDIS_UNREACHABLE: EXIT_ENVIRONMENT,
  FLEET_MESSAGE_INVALID: EXIT_ENVIRONMENT,
  FLEET_CONTEXT_UNAVAILABLE: EXIT_ENVIRONMENT,
  FLEET_NAME_TAKEN: EXIT_ENVIRONMENT,
  FLEET_JOB_LOST: EXIT_ENVIRONMENT,
  FLEET_WORKER_ERROR: EXIT_FAILURE,
  FLEET_WATCHDOG: EXIT_FAILURE,
  FLEET_DEADLINE: EXIT_FAILURE,
  FLEET_CANCELLED: EXIT_INTERRUPTED,
} as const satisfies Readonly<Record<KnownErrorCode, ExitStatus>>;

/** The exit status of a known error's code. */
export function exitCodeFor(code: KnownErrorCode): ExitStatus {
  return EXIT_CODES[code];
}

/** Whether a code read at run time (a remote worker's) is one the table maps. */
export function isKnownErrorCode(code: string): code is KnownErrorCode {
  return Object.hasOwn(EXIT_CODES, code);
}
