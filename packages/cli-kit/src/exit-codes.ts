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
