import { quotePosix } from "@strata/shell-quote";
import type { RunAs } from "@strata/ssh-transport";

/** Where a POSIX guest holds a step's secrets: its own tmpfs, never the layer's disk. */
export const SECRET_STAGING = "/run/strata-secrets";

/**
 * The guest script that puts secret `index` (read from stdin) at `target`: the value goes into
 * a tmpfs mounted for the step and is bind-mounted over the target (an empty placeholder is
 * created when the target does not exist, and removed afterwards), readable only by `user`.
 */
export function posixInstallScript(index: number, target: string, user: RunAs): string {
  const staged = `${SECRET_STAGING}/${index}`;
  const t = quotePosix(target);
  return [
    "set -e",
    `mkdir -p -m 0711 ${SECRET_STAGING}`,
    `mountpoint -q ${SECRET_STAGING} || mount -t tmpfs -o mode=0711,size=16m strata-secrets ${SECRET_STAGING}`,
    `(umask 077; cat > ${staged})`,
    `chown ${user.uid}:${user.gid} ${staged}`,
    `chmod 0400 ${staged}`,
    `mkdir -p "$(dirname ${t})"`,
    `if [ ! -e ${t} ]; then : > ${t}; touch ${staged}.placeholder; fi`,
    `mount --bind ${staged} ${t}`,
  ].join("\n");
}

/**
 * The guest script that takes every secret away again, and exits non-zero (naming what is
 * left) unless all of it is gone: each bind mount (however often the step stacked mounts on
 * the target), each placeholder, and the tmpfs. `umount` fails while a process still has a
 * file open there, which is what a step that leaves a process holding its secret looks like.
 */
export function posixRemoveScript(targets: readonly string[]): string {
  const unmountAll = (path: string) =>
    `while findmnt -n --mountpoint ${path} >/dev/null 2>&1; do umount ${path} || { echo "strata: could not unmount the secret at "${path} >&2; fail=1; break; }; done`;
  const lines = ["fail=0"];
  targets.forEach((target, i) => {
    const t = quotePosix(target);
    lines.push(unmountAll(t));
    lines.push(
      `if [ -e ${SECRET_STAGING}/${i}.placeholder ] && ! findmnt -n --mountpoint ${t} >/dev/null 2>&1; then rm -f -- ${t} || fail=1; fi`,
    );
  });
  lines.push(unmountAll(SECRET_STAGING));
  lines.push(
    `if ! findmnt -n --mountpoint ${SECRET_STAGING} >/dev/null 2>&1; then rm -rf -- ${SECRET_STAGING} || fail=1; fi`,
  );
  lines.push("exit $fail");
  return lines.join("\n");
}
