import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack } from "tar-stream";
import type { CopyManifestEntry } from "./copy-manifest.js";

export interface TarOwner {
  uid: number;
  gid: number;
  uname?: string;
  gname?: string;
}

/** Splits a guest path into the root tar extracts under ("/" or "C:/") and the entry name. */
export function splitGuestRoot(dest: string): { root: string; name: string } {
  const drive = /^[A-Za-z]:/.exec(dest)?.[0];
  const root = drive ? `${drive}/` : "/";
  return { root, name: dest.slice(root.length).replace(/^\/+/, "") };
}

/**
 * A tar stream of a copy manifest, every entry owned by `owner`, files 0755 if any exec bit
 * was set else 0644, directories 0755, symlinks kept as links. Names are relative to the guest
 * root, so the guest extracts it with `tar -xpf - -C /` as root.
 */
export function packCopyManifest(entries: readonly CopyManifestEntry[], owner: TarOwner): Readable {
  const tar = pack();
  const common = {
    uid: owner.uid,
    gid: owner.gid,
    uname: owner.uname,
    gname: owner.gname,
    mtime: new Date(0),
  };
  (async () => {
    for (const e of entries) {
      const { name } = splitGuestRoot(e.dest);
      if (e.type === "dir") tar.entry({ ...common, name, type: "directory", mode: 0o755 });
      else if (e.type === "symlink")
        tar.entry({ ...common, name, type: "symlink", mode: 0o777, linkname: e.linkTarget ?? "" });
      else {
        const mode = e.executable ? 0o755 : 0o644;
        await new Promise<void>((resolve, reject) => {
          const sink = tar.entry({ ...common, name, type: "file", mode, size: e.size }, (err) =>
            err ? reject(err) : resolve(),
          );
          pipeline(createReadStream(e.source), sink).catch(reject);
        });
      }
    }
    tar.finalize();
  })().catch((err: unknown) => tar.destroy(err as Error));
  // tar-stream speaks streamx; hand callers a plain Node stream.
  return Readable.from(tar);
}
