/** Exit codes both apps use; each app's README says what they mean for its commands. */
export const EXIT_OK = 0;
/** The work failed: a build step, a setup script, `fmt --check` finding files to reformat. */
export const EXIT_FAILURE = 1;
/** Usage error or invalid input. */
export const EXIT_USAGE = 2;
/** Store or host environment error. */
export const EXIT_ENVIRONMENT = 3;
/** VM or SSH error. */
export const EXIT_VM = 4;
/** Interrupted by SIGINT (Ctrl-C); SIGTERM gives 143 and SIGHUP 129 (see `runWithInterrupt`). */
export const EXIT_INTERRUPTED = 130;

/** An exit status the apps document. */
export type ExitStatus =
  | typeof EXIT_OK
  | typeof EXIT_FAILURE
  | typeof EXIT_USAGE
  | typeof EXIT_ENVIRONMENT
  | typeof EXIT_VM
  | typeof EXIT_INTERRUPTED;

/** What each status means, for both apps' docs (docs/cli.md is generated from it). */
export const EXIT_STATUS_MEANINGS = {
  [EXIT_OK]: "success",
  [EXIT_FAILURE]:
    "the work failed: a build step, an image build script, `fmt --check` finding files to reformat; also a known error without a mapping",
  [EXIT_USAGE]:
    "usage error or invalid input: unknown command or flag, bad value, extra arguments, an unreadable or invalid spec, a missing secret",
  [EXIT_ENVIRONMENT]:
    "store or host environment error: store locked, a missing tool or base image, disk full, a registry unreachable or refusing",
  [EXIT_VM]: "VM or SSH error: QEMU did not boot, SSH refused or lost, a cache stream refused",
  [EXIT_INTERRUPTED]:
    "interrupted by SIGINT (Ctrl-C): the VM is stopped, the half layer and temp files removed",
} as const satisfies Readonly<Record<ExitStatus, string>>;
