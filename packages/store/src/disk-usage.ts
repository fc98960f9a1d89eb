import { lstat, readdir, statfs } from "node:fs/promises";
import { join } from "node:path";

/** Bytes really allocated on disk (st_blocks * 512) under `path`; sparse files count what they use. */
export async function allocatedBytes(path: string): Promise<number> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  let total = stats.blocks * 512;
  if (stats.isDirectory()) {
    let entries: string[];
    try {
      entries = await readdir(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw error;
    }
    for (const entry of entries) total += await allocatedBytes(join(path, entry));
  }
  return total;
}

/** Free and total bytes of the filesystem holding `path` (free as seen by an unprivileged user). */
export async function filesystemSpace(path: string): Promise<{ free: number; total: number }> {
  const fs = await statfs(path);
  return { free: fs.bavail * fs.bsize, total: fs.blocks * fs.bsize };
}
