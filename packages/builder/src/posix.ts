import type { RunAs } from "@strata/ssh-transport";

/** Root in a POSIX guest: what strata's own guest-side commands run as (through sudo). */
export const GUEST_ROOT: RunAs = { uid: 0, gid: 0 };

/**
 * The shell strata's own guest-side scripts run under, whatever `(shell ...)` a spec set:
 * they are written for a plain POSIX sh.
 */
export const POSIX_SH: readonly string[] = ["/bin/sh", "-c"];
