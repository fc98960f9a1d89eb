import { BuildError } from "@strata/builder";
import { CacheError } from "@strata/cache-sync";
import {
  InputError,
  isKnownErrorCode,
  type KnownErrorClass,
  type KnownErrorCode,
  UsageError,
} from "@strata/cli-kit";
// The errors entry only: the fleet itself (BullMQ, ioredis) loads when a fleet command runs.
import { FleetError, type RemoteBuildError } from "@strata/fleet/errors";
import { HostToolBaseError } from "@strata/host-tool";
import { TransferError } from "@strata/layer-transfer";
import { QemuError } from "@strata/qemu-runner";
import { RegistryError } from "@strata/registry";
import { ShellQuoteError } from "@strata/shell-quote";
import {
  DockerfileError,
  SpecError,
  type SpecErrorCode,
  type SpecProblem,
} from "@strata/spec-parser";
import { SshError } from "@strata/ssh-transport";
import { StoreError } from "@strata/store";

export { InputError, UsageError };

/** A spec file with syntax or validation problems, with its text so problems can show the line. */
export class SpecFileError extends Error {
  override readonly name = "SpecFileError";

  constructor(
    readonly code: SpecErrorCode,
    readonly problems: readonly SpecProblem[],
    readonly source: string,
  ) {
    super(`${problems[0]?.file ?? "spec"}: ${problems.length} problem(s); fix them and try again`);
  }
}

/**
 * A build that failed on a fleet worker, with the worker's error code when this version knows it
 * (so `strata build --queue` exits as a local build would), else `FLEET_WORKER_ERROR`.
 */
export class RemoteFailure extends Error {
  override readonly name = "RemoteFailure";
  readonly code: KnownErrorCode;
  readonly worker: string | undefined;

  constructor(remote: RemoteBuildError) {
    super(remote.worker ? `on worker "${remote.worker}": ${remote.message}` : remote.message, {
      cause: remote,
    });
    this.code = isKnownErrorCode(remote.code) ? remote.code : "FLEET_WORKER_ERROR";
    this.worker = remote.worker;
  }
}

/** The base classes of every error `strata` reports as known (with a mapped exit status). */
export const KNOWN_ERRORS: readonly KnownErrorClass[] = [
  UsageError,
  InputError,
  SpecFileError,
  SpecError,
  DockerfileError,
  StoreError,
  BuildError,
  CacheError,
  QemuError,
  SshError,
  ShellQuoteError,
  RegistryError,
  TransferError,
  FleetError,
  HostToolBaseError,
  RemoteFailure,
];
