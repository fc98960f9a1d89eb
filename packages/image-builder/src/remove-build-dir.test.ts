import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mountsBelow, parseMountPoints, removeBuildDir } from "./remove-build-dir.js";

describe("mount points below a build directory", () => {
  const mountinfo = [
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
    "90 22 0:5 / /w/.building-x-1/root/proc ro - proc proc ro",
    "91 22 0:6 / /w/.building-x-1/root/dev/pts rw - devpts none rw",
    "92 22 0:7 / /w/.building-x-10/root/proc ro - proc proc ro",
    "93 22 0:8 / /w/with\\040space/root/sys ro - sysfs sys ro",
  ].join("\n");

  it("reads mount points, undoing the kernel's octal escapes", () => {
    expect(parseMountPoints(mountinfo)).toContain("/w/with space/root/sys");
  });

  it("keeps only those inside the directory, deepest first, not a sibling with the same prefix", () => {
    expect(mountsBelow(parseMountPoints(mountinfo), "/w/.building-x-1/")).toEqual([
      "/w/.building-x-1/root/dev/pts",
      "/w/.building-x-1/root/proc",
    ]);
  });
});

// Mounting needs root (as building the Debian image does).
describe.skipIf(process.getuid?.() !== 0)("removeBuildDir on a real tree (root)", () => {
  it("unmounts what a killed mmdebstrap left mounted, then removes the tree", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-build-dir-"));
    const proc = join(dir, "root", "proc");
    const shm = join(dir, "root", "dev", "shm");
    await mkdir(proc, { recursive: true });
    await mkdir(shm, { recursive: true });
    execFileSync("mount", ["-t", "proc", "-o", "ro", "proc", proc]);
    execFileSync("mount", ["-t", "tmpfs", "tmpfs", shm]);
    await writeFile(join(shm, "f"), "x");
    await removeBuildDir(dir);
    expect(existsSync(dir)).toBe(false);
    expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(dir);
  });
});
