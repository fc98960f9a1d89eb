import { quotePosix } from "@strata/shell-quote";
import type { User } from "@strata/spec-parser";
import type { RunAs, SshSession } from "@strata/ssh-transport";
import { BuildError } from "./errors.js";
import { POSIX_SH } from "./posix.js";

/** The uid/gid a spec user maps to in a POSIX guest (`(user (name N))` is looked up there). */
export async function resolveGuestUser(ssh: SshSession, user: User): Promise<RunAs> {
  if (!("name" in user)) return { uid: user.uid, gid: user.gid };
  const name = quotePosix(user.name);
  const r = await ssh.exec(`id -u -- ${name} && id -g -- ${name}`, { shell: POSIX_SH });
  const ids = r.exitCode === 0 ? r.stdout.trim().split(/\s+/).map(Number) : [];
  const [uid, gid] = ids;
  if (
    ids.length !== 2 ||
    uid === undefined ||
    gid === undefined ||
    ids.some((n) => !Number.isInteger(n))
  )
    throw new BuildError(
      "GUEST_USER_UNKNOWN",
      `user "${user.name}" does not exist in the guest; create it in an earlier step or use (user (uid U) (gid G))`,
    );
  return { uid, gid };
}
