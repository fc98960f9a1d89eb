import type { RunAs } from "@strata/ssh-transport";

export { POSIX_SH } from "@strata/ssh-transport";

/** Root in a POSIX guest: what strata's own guest-side commands run as (through sudo). */
export const GUEST_ROOT: RunAs = { uid: 0, gid: 0 };
