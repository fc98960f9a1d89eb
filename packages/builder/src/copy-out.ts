import { lstat, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { quotePosix } from "@strata/shell-quote";
import { type HostKind, placeCopy, splitGuestSource } from "./copy-out-plan.js";
import { CopyOutError } from "./errors.js";
import type { Guest } from "./guest.js";
import { GUEST_ROOT, POSIX_SH } from "./posix.js";

/** One copy out of a guest: `path` in the guest to `dest` on the host (`docker cp` rules). */
export interface CopyOut {
  path: string;
  dest: string;
}

export interface CopyOutOptions {
  /** Refuse the copy once its files hold more bytes than this. @default DEFAULT_TAR_MAX_BYTES */
  maxBytes?: number | undefined;
  /** Told of each symbolic link left out because it points outside the copy. */
  onSkippedLink?: ((name: string, target: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

async function hostKind(path: string): Promise<HostKind> {
  try {
    return (await stat(path)).isDirectory() ? "directory" : "other";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw e;
  }
}

/** lstat's answer, never following a link: only real directories are merged into. */
async function ownKind(path: string): Promise<"directory" | "other" | "missing"> {
  try {
    return (await lstat(path)).isDirectory() ? "directory" : "other";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw e;
  }
}

/**
 * Moves `from` (a staged copy) to `to`: renamed in when `to` is absent; a file or link
 * replaces a file or link (the link itself, never what it points at); a directory is merged
 * into a real directory entry by entry. A directory and a non-directory never replace each other.
 */
async function place(from: string, to: string, dest: string): Promise<void> {
  const [fromKind, toKind] = await Promise.all([ownKind(from), ownKind(to)]);
  if (toKind === "missing") return rename(from, to);
  if ((fromKind === "directory") !== (toKind === "directory"))
    throw new CopyOutError(
      "COPY_OUT_DEST_INVALID",
      dest,
      `cannot copy: "${to}" is ${toKind === "directory" ? "a directory and the copy is not" : "not a directory and the copy is one"}; remove it or choose another destination`,
    );
  if (fromKind !== "directory") return rename(from, to);
  for (const entry of await readdir(from)) await place(join(from, entry), join(to, entry), dest);
}

/**
 * Copies `path` out of a running POSIX guest to the host. The guest's `tar` (run as root) sends
 * the path, and the stream is treated as hostile: `extractTar` writes it into a fresh staging
 * directory beside the target (refusing absolute names, `..`, writes through links, devices,
 * set-id bits, and more than `maxBytes`), links pointing outside the copy are left out, and only
 * the staged entry named like the source is then moved into place. Returns the target path.
 */
export async function copyOutOfGuest(
  guest: Guest,
  copy: CopyOut,
  options: CopyOutOptions = {},
): Promise<string> {
  const source = splitGuestSource(copy.path);
  const dest = copy.dest.replace(/(.)\/+$/, "$1/");
  const kind = await hostKind(dest);
  const { target, parent } = placeCopy(
    source.name,
    dest,
    kind,
    kind === "directory" ? "directory" : await hostKind(join(dest, "..")),
  );
  const q = quotePosix(source.path);
  const found = await guest.ssh.exec(`test -e ${q} || test -L ${q}`, {
    user: GUEST_ROOT,
    shell: POSIX_SH,
    signal: options.signal,
  });
  if (found.exitCode !== 0)
    throw new CopyOutError(
      "COPY_OUT_SOURCE_MISSING",
      source.path,
      `"${source.path}" does not exist in the layer; "strata shell ID" lets you look around`,
    );
  const staging = await mkdtemp(join(parent, ".strata-cp-"));
  try {
    await guest.ssh.getTar(source.dir, staging, {
      user: GUEST_ROOT,
      entries: [source.name],
      signal: options.signal,
      extract: {
        maxBytes: options.maxBytes,
        escapingLinks: "skip",
        onSkippedLink: options.onSkippedLink,
      },
    });
    const staged = join(staging, source.name);
    if ((await ownKind(staged)) === "missing")
      throw new CopyOutError(
        "COPY_OUT_SOURCE_MISSING",
        source.path,
        `nothing of "${source.path}" was copied: it is a symbolic link pointing outside the copy; copy what it points to instead`,
      );
    await place(staged, target, copy.dest);
    return target;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
