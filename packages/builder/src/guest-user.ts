import { quotePosix } from "@strata/shell-quote";
import type { User } from "@strata/spec-parser";
import { type RunAs, SshCommandError } from "@strata/ssh-transport";
import { BuildError } from "./errors.js";
import type { Guest } from "./guest.js";

interface PrepareGuestOptions {
  /** The step's user: `(user (name N))` is looked up in the guest. */
  user: User;
  /** Created (by root) when missing, as Docker's WORKDIR. @default none */
  workdir?: string | undefined;
}

/**
 * Readies a POSIX guest for a step in one root script: sets its clock when it lags (a paused
 * guest, see `Guest.clockBehind`), creates the workdir, and looks the user's uid and gid up.
 * Nothing is cached between steps: a step may add the user the next one names.
 */
export async function prepareGuest(guest: Guest, o: PrepareGuestOptions): Promise<RunAs> {
  const name = "name" in o.user ? o.user.name : undefined;
  const lines: string[] = [];
  if (guest.clockBehind) lines.push(`date -u -s @${(Date.now() / 1000).toFixed(3)} >/dev/null`);
  if (o.workdir !== undefined) lines.push(`mkdir -p -- ${quotePosix(o.workdir)}`);
  if (name !== undefined) {
    const q = quotePosix(name);
    lines.push(`if id -u -- ${q} && id -g -- ${q}; then :; else exit ${NO_SUCH_USER}; fi`);
  }
  const script = ["set -e", ...lines].join("\n");
  const r = lines.length > 0 ? await guest.runAsRoot(script) : undefined;
  if (r && r.exitCode !== 0) {
    if (name !== undefined && r.exitCode === NO_SUCH_USER)
      throw unknownUser(name, "does not exist");
    // As each of these commands failed before (e.g. a workdir that is a file).
    throw new SshCommandError(script, r.exitCode, undefined, r.stderr);
  }
  guest.clockBehind = false;
  if (!("name" in o.user)) return { uid: o.user.uid, gid: o.user.gid };
  const ids = (r?.stdout ?? "").trim().split(/\s+/).map(Number);
  const [uid, gid] = ids;
  if (ids.length !== 2 || uid === undefined || gid === undefined || !ids.every(Number.isInteger))
    throw unknownUser(
      o.user.name,
      `has no numeric uid and gid (id said ${JSON.stringify(r?.stdout.trim())})`,
    );
  return { uid, gid };
}

/** The exit status of the lookup script when `id` does not know the user. */
const NO_SUCH_USER = 99;

function unknownUser(name: string, what: string): BuildError {
  return new BuildError(
    "GUEST_USER_UNKNOWN",
    `user "${name}" ${what} in the guest; create it in an earlier step or use (user (uid U) (gid G))`,
  );
}
