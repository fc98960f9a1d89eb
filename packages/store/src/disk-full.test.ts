import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DiskFullError } from "./errors.js";
import { openStore } from "./store.js";
import { createBaseImage, layerId, tempDir, writePattern } from "./test-support.js";

// A real full disk needs a small filesystem: a tmpfs, which only root may mount.
const isRoot = process.getuid?.() === 0;
let dir: ReturnType<typeof tempDir>;

describe.skipIf(!isRoot)("a full disk (tmpfs, root only)", () => {
  beforeEach(() => {
    dir = tempDir();
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", dir.path]);
  });
  afterEach(() => {
    execFileSync("umount", [dir.path]);
    dir.remove();
  });

  it("stops the step with DiskFullError, keeps nothing, and the store works afterwards", async () => {
    await createBaseImage(dir.path);
    await using store = await openStore({ root: dir.path });
    const id = layerId("too-big");
    const failing = store.build(id, { base: "test-base", description: "big" }, async (layer) => {
      layer.log("writing 16 MiB\n");
      await writePattern(layer.image, 1, 0, 16 * 1024 * 1024);
    });
    await expect(failing).rejects.toBeInstanceOf(DiskFullError);
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
    expect(existsSync(join(dir.path, "result", id))).toBe(false);
    expect(store.lookup(id)).toBeUndefined();
    const small = await store.build(
      layerId("small"),
      { base: "test-base", description: "small" },
      async (layer) => {
        await writePattern(layer.image, 2, 0, 65536);
      },
    );
    expect(small.cached).toBe(false);
    expect((await store.check()).problems).toEqual([]);
  });
});
