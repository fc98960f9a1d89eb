import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import createDebug from "debug";
import { removeStaleHostNetwork } from "./host-network.js";

const debug = createDebug("strata:qemu");

/** Prefix of the run directories `startVm` creates (in the OS temp dir unless `runDir` is given). */
export const RUN_DIR_PREFIX = "strata-vm-";
/** Prefix every temp directory with an owner record starts with; see {@link createOwnedTempDir}. */
const OWNED_TEMP_PREFIX = "strata-";
/** The file in an owned temp directory that names its owner's pid. */
export const OWNER_PID_FILE = "owner.pid";

/**
 * Creates `<tmpdir>/<prefix>XXXXXX` holding {@link OWNER_PID_FILE}, so that {@link reapStaleVms}
 * can remove it if this process is killed before it cleans up. `prefix` starts with `strata-`.
 */
export async function createOwnedTempDir(
  prefix: string,
  baseDir: string = tmpdir(),
): Promise<string> {
  if (!prefix.startsWith(OWNED_TEMP_PREFIX)) {
    throw new RangeError(`temp dir prefix ${JSON.stringify(prefix)} must start with "strata-"`);
  }
  const dir = await mkdtemp(join(baseDir, prefix));
  await writeFile(join(dir, OWNER_PID_FILE), `${process.pid}\n`);
  return dir;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

const readPid = async (path: string): Promise<number | undefined> => {
  const n = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/**
 * Finds VMs and temp directories whose owner died without cleaning up (SIGKILL, a crash: nothing
 * can run then), kills the VMs and removes the directories: each `strata-*` directory made by
 * `startVm` or {@link createOwnedTempDir} holds its owner's pid, a VM's also QEMU's `-pidfile`.
 * Only a process that is still QEMU with that pid file on its command line is killed; a directory
 * without an owner record is left alone. Returns the killed pids.
 */
export async function reapStaleVms(baseDir: string = tmpdir()): Promise<number[]> {
  const killed: number[] = [];
  const entries = await readdir(baseDir).catch(() => [] as string[]);
  for (const name of entries.filter((e) => e.startsWith(OWNED_TEMP_PREFIX))) {
    const dir = join(baseDir, name);
    const owner = await readPid(join(dir, OWNER_PID_FILE));
    if (owner === undefined || alive(owner)) continue;
    const pidFile = join(dir, "qemu.pid");
    const pid = await readPid(pidFile);
    if (pid !== undefined && alive(pid)) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (cmdline.includes("qemu-system") && cmdline.includes(pidFile)) {
        process.kill(pid, "SIGKILL");
        killed.push(pid);
        debug("reaped stale VM", pid, dir);
      }
    }
    await removeStaleHostNetwork(dir);
    await rm(dir, { recursive: true, force: true });
  }
  return killed;
}
