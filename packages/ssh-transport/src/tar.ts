import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, posix, relative, sep } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";

/** Streams a host directory as a tar archive (entries relative to it, like `tar -C DIR .`). */
export function packDirectory(dir: string): Readable {
  const pack = tar.pack();
  const add = async (abs: string): Promise<void> => {
    const name = relative(dir, abs).split(sep).join(posix.sep) || ".";
    const st = await lstat(abs);
    const header = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
    if (st.isDirectory()) {
      pack.entry({ ...header, name: name === "." ? "./" : `./${name}/`, type: "directory" });
      for (const child of (await readdir(abs)).sort()) await add(join(abs, child));
    } else if (st.isSymbolicLink()) {
      pack.entry({ ...header, name: `./${name}`, type: "symlink", linkname: await readlink(abs) });
    } else if (st.isFile()) {
      const entry = pack.entry({ ...header, name: `./${name}`, type: "file", size: st.size });
      await pipeline(createReadStream(abs), entry);
    }
    // Sockets, FIFOs and devices are skipped: they cannot be copied into a guest meaningfully.
  };
  // tar-stream's streams are streamx streams; hand out a Node Readable.
  const out = new PassThrough();
  pack.on("error", (e: Error) => out.destroy(e));
  pack.pipe(out);
  add(dir).then(
    () => pack.finalize(),
    (e: Error) => pack.destroy(e),
  );
  return out;
}
