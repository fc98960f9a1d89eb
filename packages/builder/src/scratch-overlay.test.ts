import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchOverlay } from "./scratch-overlay.js";

const exec = promisify(execFile);

describe("createScratchOverlay", () => {
  let dir: string;
  let base: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-scratch-test-"));
    base = join(dir, "base.qcow2");
    await exec("qemu-img", ["create", "-q", "-f", "qcow2", base, "16M"]);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("makes a qcow2 overlay of the image outside its directory, and removes it on dispose", async () => {
    let path: string;
    {
      await using overlay = await createScratchOverlay(base);
      path = overlay.path;
      expect(dirname(path)).not.toBe(dir);
      const info = JSON.parse((await exec("qemu-img", ["info", "--output=json", path])).stdout);
      expect(info.format).toBe("qcow2");
      expect(info["backing-filename"]).toBe(base);
      expect(info["backing-filename-format"]).toBe("qcow2");
    }
    await expect(stat(dirname(path))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("leaves no directory behind when qemu-img fails", async () => {
    const before = await exec("sh", [
      "-c",
      `ls -d ${tmpdir()}/strata-scratch-* 2>/dev/null | wc -l`,
    ]);
    await expect(createScratchOverlay(join(dir, "missing.qcow2"))).rejects.toThrow();
    const after = await exec("sh", [
      "-c",
      `ls -d ${tmpdir()}/strata-scratch-* 2>/dev/null | wc -l`,
    ]);
    expect(after.stdout).toBe(before.stdout);
  });
});
