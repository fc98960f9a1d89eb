import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "@strata/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BaseImageInUseError, describeBrokenUsers, removeBaseImage } from "./base-images.js";

let root = "";
let dir = "";
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "strata-rm-image-"));
  dir = join(root, "base-image");
  mkdirSync(dir);
  execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(dir, "tiny.qcow2"), "16M"]);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("removeBaseImage", () => {
  const id = "a".repeat(64);
  const child = "b".repeat(64);

  it("refuses while a running build or cached layers use the image; --force says what it broke", async () => {
    {
      await using store = await openStore({ root });
      await store.build(id, { base: "tiny", description: "first" }, async () => {});
      await store.build(child, { parent: id, description: "second" }, async () => {});
      // A running build (this process) holds the child layer, as runBuild's leases do.
      using _lease = store.pin(child);
      const error = await removeBaseImage(dir, "tiny", { storeRoot: root }).catch((e) => e);
      expect(error).toBeInstanceOf(BaseImageInUseError);
      expect(error.code).toBe("IMAGE_IN_USE");
      expect(error.message).toContain(`1 running build(s) use it: pid ${process.pid}`);
      // Both layers count: the child is built on the image through its parent.
      expect(error.message).toContain("2 cached layer(s) are built on it");
      expect(error.message).toContain("--force");
    }
    // The build ended: the cached layers alone still keep the image.
    const error = await removeBaseImage(dir, "tiny", { storeRoot: root }).catch((e) => e);
    expect(error.message).not.toContain("running build");
    expect(readdirSync(dir)).toEqual(["tiny.qcow2"]);

    const removed = await removeBaseImage(dir, "tiny", { storeRoot: root, force: true });
    expect(removed.files).toEqual(["tiny.qcow2"]);
    expect(removed.broken.layers.sort()).toEqual([id, child]);
    expect(describeBrokenUsers("tiny", removed.broken)).toEqual([
      '2 cached layer(s) built on "tiny" can no longer be used; remove them with "strata store delete ID" or "strata store prune"',
    ]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("counts a step being built on the image in result-tmp as a running build", async () => {
    await using store = await openStore({ root });
    let seen: unknown;
    await store.build(id, { base: "tiny", description: "first" }, async () => {
      seen = await removeBaseImage(dir, "tiny", { storeRoot: root }).catch((e) => e);
    });
    expect((seen as Error).message).toContain("a step being built (result-tmp/aaaaaaaaaaaa)");
  });

  it("removes an unused image", async () => {
    const removed = await removeBaseImage(dir, "tiny", { storeRoot: root });
    expect(removed).toEqual({ files: ["tiny.qcow2"], broken: { layers: [], running: [] } });
  });
});
