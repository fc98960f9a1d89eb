import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { CopySourceError } from "./errors.js";

/** One thing a `copy` writes into the guest. */
export interface CopyManifestEntry {
  /** Absolute host path it is read from. */
  readonly source: string;
  /** Absolute guest path it is written to ("/" separators, "C:/..." on Windows). */
  readonly dest: string;
  readonly type: "file" | "dir" | "symlink";
  /** Content hash of a file. */
  readonly sha256?: string;
  readonly size: number;
  /** A file with any exec bit set is copied as 0755, else 0644. */
  readonly executable: boolean;
  readonly linkTarget?: string;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

/** Resolves SRC inside the context; no component before the last may lead out through a link. */
async function resolveSource(contextReal: string, src: string): Promise<string> {
  const parts = src.split(/[\\/]+/).filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new CopySourceError(src, `copy source "${src}" contains ".."`);
  let current = contextReal;
  for (const [i, part] of parts.entries()) {
    const next = join(current, part);
    const st = await lstat(next).catch(() => undefined);
    if (!st)
      throw new CopySourceError(src, `copy source "${src}" does not exist in the build context`);
    if (st.isSymbolicLink() && i < parts.length - 1) {
      const real = await realpath(next);
      if (!isInside(contextReal, real))
        throw new CopySourceError(
          src,
          `copy source "${src}" leaves the build context through the symlink "${parts.slice(0, i + 1).join("/")}"`,
        );
      current = real;
    } else current = next;
  }
  return current;
}

function baseName(path: string): string {
  return (
    path
      .split(/[\\/]+/)
      .filter(Boolean)
      .pop() ?? ""
  );
}

async function walk(
  source: string,
  dest: string,
  exclude: ReadonlySet<string>,
  out: CopyManifestEntry[],
): Promise<void> {
  const st = await lstat(source);
  if (st.isSymbolicLink()) {
    out.push({
      source,
      dest,
      type: "symlink",
      size: 0,
      executable: false,
      linkTarget: await readlink(source),
    });
  } else if (st.isDirectory()) {
    out.push({ source, dest, type: "dir", size: 0, executable: true });
    const names = (await readdir(source)).filter((n) => !exclude.has(n)).sort();
    for (const name of names) await walk(join(source, name), `${dest}/${name}`, exclude, out);
  } else if (st.isFile()) {
    out.push({
      source,
      dest,
      type: "file",
      size: st.size,
      sha256: await hashFile(source),
      executable: (st.mode & 0o111) !== 0,
    });
  } else {
    throw new CopySourceError(
      source,
      `copy source "${source}" is not a file, directory or symlink`,
    );
  }
}

export interface CopyManifestOptions {
  contextDir: string;
  src: readonly string[];
  /** Destination, already joined to the workdir; a trailing "/" means "into this directory". */
  dst: string;
  exclude: readonly string[];
}

/**
 * Lists what a `copy` from the build context writes: sorted, excludes applied at every depth,
 * each file hashed. The list is both the layer ID's input and the tar stream's plan.
 */
export async function buildCopyManifest(
  options: CopyManifestOptions,
): Promise<CopyManifestEntry[]> {
  const contextReal = await realpath(options.contextDir).catch(() => {
    throw new CopySourceError(
      options.contextDir,
      `build context "${options.contextDir}" does not exist`,
    );
  });
  const intoDir = options.dst.endsWith("/") || options.dst.endsWith("\\");
  if (!intoDir && options.src.length !== 1)
    throw new CopySourceError(
      options.dst,
      `copy of ${options.src.length} sources needs a destination ending in "/" (got "${options.dst}")`,
    );
  const dstDir = options.dst.replace(/[\\/]+$/, "");
  const exclude = new Set(options.exclude);
  const out: CopyManifestEntry[] = [];
  for (const src of options.src) {
    const source = await resolveSource(contextReal, src);
    const name = baseName(src);
    if (intoDir && name === "") {
      // "." into a directory: its contents go there.
      for (const child of (await readdir(source)).filter((n) => !exclude.has(n)).sort())
        await walk(join(source, child), `${dstDir}/${child}`, exclude, out);
    } else {
      await walk(source, intoDir ? `${dstDir}/${name}` : dstDir, exclude, out);
    }
  }
  return out;
}
