// Real ext4 images whose newest writes are only in the journal, and reads of an ext4 image
// that do not replay it: what a layer disk cut from a running guest can look like, and what a
// reader that mounts with `noload` (or reads the image directly) sees of it.
import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const BLOCK = 4096;

/** Runs debugfs commands on `image`, opened for writing. */
async function writeWithDebugfs(image: string, commands: string[]): Promise<void> {
  const run = exec("debugfs", ["-w", "-f", "-", image]);
  run.child.stdin?.end(`${commands.join("\n")}\n`);
  await run;
}

/**
 * Makes `<dir>/journaled.raw`: an 8 MiB ext4 file system holding `base.txt`, whose journal
 * holds one committed, unreplayed transaction that creates `path` with `content` (its parent
 * directories too). Built as mke2fs image A; B = A plus the file (written by debugfs); then the
 * blocks where B differs from A, except the superblock's, are journalled into A.
 */
export async function makeJournaledExt4(
  dir: string,
  path: string,
  content: string,
): Promise<string> {
  const tree = join(dir, "tree");
  await mkdir(tree, { recursive: true });
  await writeFile(join(tree, "base.txt"), "base\n");
  const a = join(dir, "journaled.raw");
  const b = join(dir, "with-file.raw");
  await exec("mke2fs", ["-q", "-F", "-t", "ext4", "-b", String(BLOCK), "-d", tree, a, "8M"]);
  await copyFile(a, b);
  const data = join(dir, "content");
  await writeFile(data, content);
  const parents: string[] = [];
  for (let p = posix.dirname(path); p !== "/"; p = posix.dirname(p)) parents.unshift(p);
  await writeWithDebugfs(b, [...parents.map((p) => `mkdir ${p}`), `write ${data} ${path}`]);
  const [before, after] = [await readFile(a), await readFile(b)];
  const blocks: number[] = [];
  for (let i = 1; i * BLOCK < after.length; i++)
    if (
      !before
        .subarray(i * BLOCK, (i + 1) * BLOCK)
        .equals(after.subarray(i * BLOCK, (i + 1) * BLOCK))
    )
      blocks.push(i);
  const payload = join(dir, "blocks");
  await writeFile(
    payload,
    Buffer.concat(blocks.map((i) => after.subarray(i * BLOCK, (i + 1) * BLOCK))),
  );
  await writeWithDebugfs(a, ["jo", `jw -b ${blocks.join(",")} ${payload}`, "jc"]);
  await rm(b);
  await rm(tree, { recursive: true });
  return a;
}

/** The file system's feature flags (`needs_recovery` while the journal holds transactions). */
export async function readExt4Features(image: string): Promise<string[]> {
  const { stdout } = await exec("dumpe2fs", ["-h", image]);
  return /^Filesystem features:\s*(.*)$/m.exec(stdout)?.[1]?.split(/\s+/) ?? [];
}

/**
 * Reads `path` straight from a raw ext4 image without replaying its journal (`debugfs -c`);
 * undefined when the file is not there.
 */
export async function readExt4FileWithoutReplay(
  image: string,
  path: string,
): Promise<string | undefined> {
  const { stdout, stderr } = await exec("debugfs", ["-c", "-R", `cat ${path}`, image]);
  return /not found/i.test(stderr) ? undefined : stdout;
}

/** Replays the journal of a raw ext4 image in place (`e2fsck -fy`; exit 1 means it fixed something). */
export async function replayExt4Journal(image: string): Promise<void> {
  await exec("e2fsck", ["-fy", image]).catch((err: { code?: number }) => {
    if (err.code !== 1) throw err;
  });
}

/** Writes a qcow2 image holding exactly the raw image's bytes. */
export async function convertRawToQcow2(raw: string, qcow2: string): Promise<void> {
  await exec("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2]);
}

/** Writes what a qcow2 chain holds as one sparse raw image, which debugfs can read. */
export async function convertToRaw(image: string, raw: string): Promise<void> {
  await exec("qemu-img", ["convert", "-U", "-O", "raw", image, raw]);
}
