import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { reapStaleVms } from "@strata/qemu-runner";
import {
  currentProcess,
  isProcessAlive,
  type ProcessIdentity,
  storeLayout,
} from "@strata/store/layout";

/** The record in a work directory that names the process building there. */
export const WORK_OWNER_FILE = ".owner.json";

/**
 * Work directories that image builds, customisations, installs, runs, imports, exports and
 * registry pulls make beside the base images.
 */
const WORK_DIR = /^\.(building|customise|install|run|import|export|pull)-/;

/**
 * Creates an empty work directory at `path` (removing a leftover of the same name) and records
 * this process as its owner, so that a later command can tell it was left by a killed process.
 */
export async function createWorkDir(path: string): Promise<void> {
  await removeWorkDir(path);
  await mkdir(path, { recursive: true });
  await writeFile(join(path, WORK_OWNER_FILE), JSON.stringify(currentProcess()));
}

/**
 * Removes a work directory like `removeBuildDir`: what a killed mmdebstrap left mounted inside
 * (/proc, /sys, /dev/pts) is unmounted first, so removal never walks into the host's kernel file
 * systems. Loaded on first use: `strata` reaps through this module at every start and should not
 * load the image builders' process runner for a directory that is usually not there.
 */
async function removeWorkDir(path: string): Promise<void> {
  const { removeBuildDir } = await import("./remove-build-dir.js");
  await removeBuildDir(path);
}

async function readOwner(dir: string): Promise<ProcessIdentity | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(dir, WORK_OWNER_FILE), "utf8")) as ProcessIdentity;
    return typeof owner.pid === "number" && typeof owner.host === "string" ? owner : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Removes the work directories in `dir` whose owner is provably dead: killed with SIGKILL, or a
 * crash, where no clean-up ran. A directory of a live process, of another host, or without an
 * owner record (one being created right now) is kept, and so is one that cannot be removed.
 * Returns the names removed.
 */
export async function reapStaleWorkDirs(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!WORK_DIR.test(name)) continue;
    const owner = await readOwner(join(dir, name));
    if (owner === undefined || isProcessAlive(owner)) continue;
    try {
      await removeWorkDir(join(dir, name));
      removed.push(name);
    } catch {
      // A leftover this process may not remove (a mount only root can undo) must not fail the
      // user's command; it is harmless where it is, and the next command tries again.
    }
  }
  return removed;
}

/** What {@link reapStaleLeftovers} removed. */
export interface ReapReport {
  /** Pids of QEMU processes whose owner had died. */
  vms: number[];
  /** Work directories of dead builds in `<store>/base-image/`. */
  workDirs: string[];
}

/**
 * Cleans up after strata processes that were killed (SIGKILL, a crash) before they could: their
 * VMs and temp directories (see `reapStaleVms`) and their image work directories in the store.
 * Every command that opens a store runs this; the store's own `result-tmp/` is recovered by
 * `openStore` itself.
 */
export async function reapStaleLeftovers(storeRoot: string): Promise<ReapReport> {
  const vms = await reapStaleVms();
  const workDirs = await reapStaleWorkDirs(storeLayout(storeRoot).baseImageDir);
  return { vms, workDirs };
}
