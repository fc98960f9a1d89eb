import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createWorkDir,
  reapStaleLeftovers,
  reapStaleWorkDirs,
  WORK_OWNER_FILE,
} from "./work-dir.js";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "strata-workdir-test-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that certainly belonged to a process that has exited. */
const deadPid = () =>
  Number(execFileSync("sh", ["-c", "sh -c 'echo $$'"], { encoding: "utf8" }).trim());

function leftover(name: string, owner: object | undefined): string {
  const path = join(dir, name);
  mkdirSync(path);
  writeFileSync(join(path, "disk.raw"), "half an image");
  if (owner) writeFileSync(join(path, WORK_OWNER_FILE), JSON.stringify(owner));
  return path;
}

describe("work directories", () => {
  it("records this process as the owner of a fresh, empty work directory", async () => {
    const work = join(dir, ".building-x-1");
    mkdirSync(work);
    writeFileSync(join(work, "old"), "leftover of the same name");
    await createWorkDir(work);
    expect(existsSync(join(work, "old"))).toBe(false);
    expect(JSON.parse(readFileSync(join(work, WORK_OWNER_FILE), "utf8"))).toMatchObject({
      pid: process.pid,
      host: hostname(),
    });
  });

  it("removes only the work directories of dead processes on this host", async () => {
    const dead = { pid: deadPid(), host: hostname() };
    leftover(".building-debian-1", dead);
    leftover(".customise-app-2", dead);
    leftover(".import-3-4", dead);
    leftover(".install-win-10", dead);
    leftover(".run-win-11", dead);
    leftover(".pull-12-13", dead);
    const live = leftover(".building-live-5", { pid: process.pid, host: hostname() });
    const remote = leftover(".building-remote-6", { pid: dead.pid, host: "another-host" });
    const unowned = leftover(".import-7-8", undefined);
    const image = leftover("debian.qcow2.d", dead);
    expect((await reapStaleWorkDirs(dir)).sort()).toEqual([
      ".building-debian-1",
      ".customise-app-2",
      ".import-3-4",
      ".install-win-10",
      ".pull-12-13",
      ".run-win-11",
    ]);
    for (const kept of [live, remote, unowned, image]) expect(existsSync(kept)).toBe(true);
    expect(await reapStaleWorkDirs(dir)).toEqual([]);
  });

  it("reapStaleLeftovers cleans a store's base-image directory", async () => {
    mkdirSync(join(dir, "base-image"));
    const path = join(dir, "base-image", ".building-debian-9");
    mkdirSync(path);
    writeFileSync(
      join(path, WORK_OWNER_FILE),
      JSON.stringify({ pid: deadPid(), host: hostname() }),
    );
    const report = await reapStaleLeftovers(dir);
    expect(report.workDirs).toEqual([".building-debian-9"]);
    expect(existsSync(path)).toBe(false);
  });
});

// Mounting needs root (as building the Debian image does, which is what leaves such mounts).
describe.skipIf(process.getuid?.() !== 0)("reaping a killed Debian build (root)", () => {
  it("unmounts the /proc a killed mmdebstrap left inside, then removes the directory", async () => {
    const path = leftover(".building-debian-14", { pid: deadPid(), host: hostname() });
    const proc = join(path, "root", "proc");
    mkdirSync(proc, { recursive: true });
    execFileSync("mount", ["-t", "proc", "-o", "ro", "proc", proc]);
    try {
      expect(await reapStaleWorkDirs(dir)).toEqual([".building-debian-14"]);
      expect(existsSync(path)).toBe(false);
      expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(path);
    } finally {
      execFileSync("sh", ["-c", `umount -l '${proc}' 2>/dev/null || true`]);
    }
  });
});
