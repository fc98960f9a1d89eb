import { posix } from "node:path";
import { CopyOutError } from "./errors.js";

/** A guest path split for `tar -C DIR -- NAME`. */
export interface GuestSource {
  /** The normalised absolute path. */
  path: string;
  dir: string;
  name: string;
}

/**
 * Checks and splits a guest path to copy out: absolute, not the root, no NUL; `.` and `..` are
 * resolved as the guest would (they only ever name guest files). Pure.
 */
export function splitGuestSource(path: string): GuestSource {
  const invalid = (why: string) =>
    new CopyOutError("COPY_OUT_PATH_INVALID", path, `guest path "${path}" ${why}`);
  if (path.includes("\0")) throw invalid("contains a NUL byte");
  if (!path.startsWith("/"))
    throw invalid('is not absolute; give the full path in the layer, e.g. "ID:/etc/os-release"');
  const normal = posix.normalize(path).replace(/\/+$/, "");
  if (normal === "" || normal === "/")
    throw invalid("is the root; name a file or directory below it");
  return { path: normal, dir: posix.dirname(normal), name: posix.basename(normal) };
}

/** What is at a host path, as the placement needs to know (after following a link). */
export type HostKind = "directory" | "other" | "missing";

/**
 * Where a copy of `name` lands for DEST, with `docker cp`'s rules: an existing directory takes
 * it inside (DEST/NAME); otherwise DEST is the new name, and its parent must exist. A DEST
 * ending in "/" must be an existing directory. Pure; `kind` is what DEST is now.
 */
export function placeCopy(
  name: string,
  dest: string,
  kind: HostKind,
  parentKind: HostKind,
): { target: string; parent: string } {
  const invalid = (why: string) =>
    new CopyOutError("COPY_OUT_DEST_INVALID", dest, `destination "${dest}" ${why}`);
  if (kind === "directory") return { target: posix.join(dest, name), parent: dest };
  if (/\/$/.test(dest)) throw invalid(kind === "missing" ? "does not exist" : "is not a directory");
  const parent = posix.dirname(dest);
  if (parentKind !== "directory")
    throw invalid(
      `cannot be created: its parent "${parent}" ${parentKind === "missing" ? "does not exist" : "is not a directory"}`,
    );
  return { target: dest, parent };
}
