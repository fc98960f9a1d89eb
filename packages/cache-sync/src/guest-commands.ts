import { quoteCmdPath, quotePosix } from "@strata/shell-quote";
import { buildCommandLine, POSIX_SH, type RunAs } from "@strata/ssh-transport";

// Every command line the caches send to a guest, as pure functions of plain data so that the
// Windows ones (which cannot run here) are checked by unit tests. All are sent with `raw: true`:
// POSIX lines start with `sudo -n` where root is needed (the SSH user has passwordless sudo, as
// in OBuilder's images); Windows lines run as the SSH user under cmd.exe.

/** Windows' cmd builtins want backslashes; bsdtar takes either. `/Users/x/` → `\Users\x`. */
export function windowsPath(target: string): string {
  const path = target.replaceAll("/", "\\");
  return path.length > 3 && path.endsWith("\\") ? path.slice(0, -1) : path;
}

function sudoSh(script: string): string {
  return `sudo -n /bin/sh -c ${quotePosix(script)}`;
}

/** Prints the uid and gid of a guest user, one per line. */
export function lookupUserCommand(name: string): string {
  return `id -u -- ${quotePosix(name)} && id -g -- ${quotePosix(name)}`;
}

/** Parses {@link lookupUserCommand}'s output. */
export function parseUserIds(stdout: string): RunAs | undefined {
  const match = /^(\d+)\s+(\d+)\s*$/.exec(stdout.trim());
  return match ? { uid: Number(match[1]), gid: Number(match[2]) } : undefined;
}

/**
 * Empties the target (what the image had there is replaced by the cache, as a mount would hide
 * it) and makes it an empty directory owned by the step's user, ready to receive the cache.
 */
export function prepareCopyTargetCommand(
  dialect: "posix" | "cmd",
  target: string,
  owner: RunAs,
): string {
  if (dialect === "cmd") {
    const p = quoteCmdPath(windowsPath(target));
    return `(if exist ${p} rmdir /s /q ${p}) && mkdir ${p}`;
  }
  const t = quotePosix(target);
  return sudoSh(`rm -rf -- ${t} && mkdir -p -- ${t} && chown ${owner.uid}:${owner.gid} ${t}`);
}

/** Unpacks the tar stream on stdin into the target, as the step's user so they own the files. */
export function extractCommand(dialect: "posix" | "cmd", target: string, owner: RunAs): string {
  if (dialect === "cmd") {
    return `tar -xf - -C ${quoteCmdPath(windowsPath(target))}`;
  }
  return buildCommandLine(["tar", "--no-same-owner", "-xf", "-", "-C", target], {
    dialect: "posix",
    shell: POSIX_SH,
    user: owner,
  });
}

/** Packs the target to stdout; as root on POSIX, so files the step made unreadable still come back. */
export function packCommand(dialect: "posix" | "cmd", target: string): string {
  if (dialect === "cmd") return `tar -cf - -C ${quoteCmdPath(windowsPath(target))} .`;
  return `sudo -n tar -cf - -C ${quotePosix(target)} .`;
}

/** Empties the target after the cache came back, so its contents do not end up in the layer. */
export function clearCopyTargetCommand(dialect: "posix" | "cmd", target: string): string {
  if (dialect === "cmd") {
    const p = quoteCmdPath(windowsPath(target));
    return `rmdir /s /q ${p} && mkdir ${p}`;
  }
  return sudoSh(`find ${quotePosix(target)} -mindepth 1 -delete`);
}

/**
 * Mounts a cache disk, found by its filesystem UUID (libblkid resolves `UUID=` by probing the
 * disks, with or without udev's /dev/disk/by-uuid links), at the target. A new cache's root is
 * given to the step's user (already so when mke2fs knew the uid; needed when only a name was).
 */
export function mountDiskCommand(
  uuid: string,
  target: string,
  owner: RunAs,
  fresh: boolean,
): string {
  const t = quotePosix(target);
  const chown = fresh ? ` && chown ${owner.uid}:${owner.gid} ${t}` : "";
  return sudoSh(`mkdir -p -- ${t} && mount -o noatime UUID=${uuid} ${t}${chown}`);
}

/** Unmounts a cache disk; umount flushes the filesystem, so success means the disk is whole. */
export function unmountDiskCommand(target: string): string {
  return sudoSh(`sync && umount ${quotePosix(target)}`);
}
