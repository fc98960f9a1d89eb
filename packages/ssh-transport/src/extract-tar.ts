import { constants } from "node:fs";
import { chmod, link, lstat, mkdir, open, symlink, unlink, utimes } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { TarRefusedError } from "./errors.js";

/** Most bytes of file content {@link extractTar} accepts from one stream. @default 64 GiB */
export const DEFAULT_TAR_MAX_BYTES = 64 * 2 ** 30;
/** Most entries {@link extractTar} accepts from one stream. @default 1,000,000 */
export const DEFAULT_TAR_MAX_ENTRIES = 1_000_000;
// Headers, padding and long-name/pax records around the content: 512-byte blocks, a few per entry.
const OVERHEAD_PER_ENTRY = 4 * 512;
const OVERHEAD_FIXED = 2 ** 20;

export interface ExtractTarOptions {
  /** Refuse the stream once its files hold more bytes than this. @default DEFAULT_TAR_MAX_BYTES */
  maxBytes?: number | undefined;
  /** Refuse the stream once it holds more entries than this. @default DEFAULT_TAR_MAX_ENTRIES */
  maxEntries?: number | undefined;
  /**
   * Symbolic links whose target is absolute or climbs out of the target directory (see
   * {@link linkEscapes}): `keep` writes them as they are (they are never followed here), `skip`
   * leaves them out and reports each through `onSkippedLink`. @default "keep"
   */
  escapingLinks?: "keep" | "skip" | undefined;
  /** Called for each link left out under `escapingLinks: "skip"`. */
  onSkippedLink?: ((name: string, target: string) => void) | undefined;
}

/**
 * Whether a symbolic link at `segments` (its path below the target directory) pointing at
 * `target` would resolve outside the target directory: an absolute target, or one whose `..`
 * climb above the root, read lexically from the link's own directory. Pure.
 */
export function linkEscapes(segments: readonly string[], target: string): boolean {
  if (target.startsWith("/") || target.includes("\0")) return true;
  let depth = segments.length - 1;
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    depth += part === ".." ? -1 : 1;
    if (depth < 0) return true;
  }
  return false;
}

/**
 * Why a tar entry name may not be written, or its path segments (empty for the root itself).
 * Pure: absolute names, `..` anywhere and NUL are refused; `.` and empty segments are dropped.
 */
export function splitEntryName(name: string): { segments: string[] } | { problem: string } {
  if (name.includes("\0")) return { problem: "contains a NUL byte" };
  if (name.startsWith("/")) return { problem: "is an absolute path" };
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { problem: 'contains ".." (points outside the target)' };
  return { segments };
}

type Kind = "directory" | "file" | "symlink" | "other" | undefined;

async function kindAt(path: string): Promise<Kind> {
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) return "symlink";
    if (st.isDirectory()) return "directory";
    return st.isFile() ? "file" : "other";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/**
 * Extracts a tar stream (hostile: it may come from a guest) into a host directory. Nothing is
 * ever written through a link: every parent of an entry must be a real directory (checked with
 * lstat, created when missing), an existing non-directory at an entry's path is unlinked before
 * the entry is made (so a later file never writes through an earlier symlink or hard link), and
 * files are opened with O_EXCL | O_NOFOLLOW. Symlinks are recreated as they are (they are data;
 * they are never followed here); hard links must name a regular file already extracted; devices,
 * FIFOs and unknown types are refused; set-id bits are dropped. Bytes and entries are bounded.
 * Throws {@link TarRefusedError} on the first refused entry; what was extracted stays in `dir`,
 * so callers extract into a fresh directory and discard it on failure.
 */
export async function extractTar(
  source: Readable,
  dir: string,
  options: ExtractTarOptions = {},
): Promise<void> {
  const maxBytes = options.maxBytes ?? DEFAULT_TAR_MAX_BYTES;
  const maxEntries = options.maxEntries ?? DEFAULT_TAR_MAX_ENTRIES;
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const extract = tar.extract();
  const dirModes: Array<[string, number, Date | undefined]> = [];
  let entries = 0;
  let bytes = 0;
  // Long names and pax records are content tar-stream buffers: bound the raw stream as well.
  const rawLimit = maxBytes + maxEntries * OVERHEAD_PER_ENTRY + OVERHEAD_FIXED;
  let raw = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      raw += chunk.length;
      if (raw > rawLimit)
        return cb(new TarRefusedError("(stream)", `is over ${rawLimit} bytes`, "TAR_TOO_LARGE"));
      cb(null, chunk);
    },
  });

  /**
   * The real directory an entry goes in, never reached through a link; missing parents are
   * created when `create`, else the answer is undefined.
   */
  const parentOf = async (
    name: string,
    segments: string[],
    create: boolean,
  ): Promise<string | undefined> => {
    let at = root;
    for (const segment of segments.slice(0, -1)) {
      at = join(at, segment);
      const kind = await kindAt(at);
      if (kind === undefined && create) await mkdir(at, { mode: 0o755 });
      else if (kind === undefined) return undefined;
      else if (kind !== "directory")
        throw new TarRefusedError(
          name,
          `goes through "${segment}", which is a ${kind}, not a directory`,
        );
    }
    return at;
  };
  /** Clears the entry's own path unless it is a directory; refuses to replace a directory. */
  const clear = async (name: string, path: string): Promise<void> => {
    const kind = await kindAt(path);
    if (kind === "directory") throw new TarRefusedError(name, "would replace a directory");
    if (kind !== undefined) await unlink(path);
  };

  const done = (async () => {
    for await (const entry of extract) {
      const { name, type, linkname } = entry.header;
      const refuse = (why: string, code?: "TAR_TOO_LARGE") => {
        entry.resume();
        return new TarRefusedError(name, why, code);
      };
      if (++entries > maxEntries)
        throw refuse(`is entry ${entries}, over the limit of ${maxEntries}`, "TAR_TOO_LARGE");
      const split = splitEntryName(name);
      if ("problem" in split) throw refuse(split.problem);
      const { segments } = split;
      // Set-id and sticky bits dropped; the owner keeps read (and search, on directories), so the
      // host can pack the cache back and remove it without root.
      const mode = (entry.header.mode ?? 0o644) & 0o777;
      const mtime = entry.header.mtime;
      if (segments.length === 0) {
        if (type !== "directory") throw refuse("names the target itself but is not a directory");
        dirModes.push([root, mode, mtime]);
        entry.resume();
        continue;
      }
      const parent = (await parentOf(name, segments, true)) as string;
      const path = join(parent, segments[segments.length - 1] as string);
      if (type === "directory") {
        const kind = await kindAt(path);
        if (kind === undefined) await mkdir(path, { mode: 0o755 });
        else if (kind !== "directory")
          await clear(name, path).then(() => mkdir(path, { mode: 0o755 }));
        dirModes.push([path, mode, mtime]);
        entry.resume();
      } else if (type === "file" || type === "contiguous-file") {
        const size = entry.header.size ?? 0;
        if (bytes + size > maxBytes)
          throw refuse(
            `would take the content over the limit of ${maxBytes} bytes`,
            "TAR_TOO_LARGE",
          );
        bytes += size;
        await clear(name, path);
        const flags =
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
        const file = await open(path, flags, 0o600);
        try {
          for await (const chunk of entry) await file.write(chunk as Buffer);
          await file.chmod(mode | 0o400);
          if (mtime) await file.utimes(mtime, mtime);
        } finally {
          await file.close();
        }
      } else if (type === "symlink") {
        if (!linkname) throw refuse("is a symbolic link without a target");
        if (options.escapingLinks === "skip" && linkEscapes(segments, linkname)) {
          options.onSkippedLink?.(name, linkname);
          entry.resume();
          continue;
        }
        await clear(name, path);
        await symlink(linkname, path);
        entry.resume();
      } else if (type === "link") {
        const to = splitEntryName(linkname ?? "");
        if ("problem" in to || to.segments.length === 0)
          throw refuse(`is a hard link to "${linkname}", outside the target`);
        const toParent = await parentOf(name, to.segments, false);
        const toPath = toParent && join(toParent, to.segments[to.segments.length - 1] as string);
        if (!toPath || (await kindAt(toPath)) !== "file")
          throw refuse(`is a hard link to "${linkname}", which is not a file extracted before it`);
        await clear(name, path);
        await link(toPath, path);
        entry.resume();
      } else throw refuse(`is a ${type}; only files, directories and links are accepted`);
    }
  })();
  // A refusal stops the stream too (and the guest's side of it), and is what the caller sees
  // rather than the "premature close" it causes.
  const results = await Promise.allSettled([
    pipeline(source, meter, extract),
    done.catch((e: unknown) => {
      extract.destroy(e as Error);
      throw e;
    }),
  ]);
  const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (errors.length > 0) throw errors.find((e) => e instanceof TarRefusedError) ?? errors[0];
  // Modes and times of directories last: creating their entries changed them, and a read-only
  // directory would have refused its own files.
  for (const [path, mode, time] of dirModes.reverse()) {
    await chmod(path, mode | 0o700);
    if (time) await utimes(path, time, time);
  }
}
