import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readdir, readlink, symlink, utimes } from "node:fs/promises";
import { join, posix, relative, resolve, sep } from "node:path";
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

/** Extracts a tar stream into a host directory; entries that would land outside it are refused. */
export async function extractTar(source: Readable, dir: string): Promise<void> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const extract = tar.extract();
  const dirTimes: Array<[string, Date]> = [];
  const done = (async () => {
    for await (const entry of extract) {
      const { name, type, mode, mtime, linkname } = entry.header;
      const target = resolve(root, name);
      if (target !== root && !target.startsWith(root + sep)) {
        entry.resume();
        throw new Error(`tar entry ${name} points outside ${root}`);
      }
      if (type === "directory") {
        await mkdir(target, { recursive: true, mode: mode ?? 0o755 });
        if (mtime) dirTimes.push([target, mtime]);
        entry.resume();
      } else if (type === "file") {
        await mkdir(resolve(target, ".."), { recursive: true });
        await pipeline(entry, createWriteStream(target, { mode: mode ?? 0o644 }));
        if (mtime) await utimes(target, mtime, mtime);
      } else if (type === "symlink" && linkname) {
        await mkdir(resolve(target, ".."), { recursive: true });
        await symlink(linkname, target);
        entry.resume();
      } else entry.resume();
    }
  })();
  await Promise.all([pipeline(source, extract), done]);
  // Directory times last: creating their files would have changed them.
  for (const [path, time] of dirTimes.reverse()) await utimes(path, time, time);
}
