import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import createDebug from "debug";

const debug = createDebug("strata:qemu");

/** Prefix of the run directories `startVm` creates (in the OS temp dir unless `runDir` is given). */
export const RUN_DIR_PREFIX = "strata-vm-";

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
 * Finds VMs whose owner died without cleaning up (SIGKILL, a crash: nothing can run then) and
 * kills them: each run directory holds QEMU's `-pidfile` and the owner's pid. Only a process
 * that is still QEMU with that pid file on its command line is killed. Returns the killed pids.
 */
export async function reapStaleVms(baseDir: string = tmpdir()): Promise<number[]> {
  const killed: number[] = [];
  const entries = await readdir(baseDir).catch(() => [] as string[]);
  for (const name of entries.filter((e) => e.startsWith(RUN_DIR_PREFIX))) {
    const dir = join(baseDir, name);
    const owner = await readPid(join(dir, "owner.pid"));
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
    await rm(dir, { recursive: true, force: true });
  }
  return killed;
}
