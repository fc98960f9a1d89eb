import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildRecipe } from "./build-recipe.js";
import { moveImageInto } from "./image-files.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-image-files-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Writes files named `${name}.${suffix}` holding `text` into `at`. */
async function writeImage(at: string, name: string, suffixes: string[], text: string) {
  await mkdir(at, { recursive: true });
  for (const s of suffixes) await writeFile(join(at, `${name}.${s}`), `${text} ${s}`);
}

describe("moveImageInto over an image of the same name (build --force)", () => {
  it("replaces its files and removes those the new image does not have", async () => {
    const out = join(dir, "base-image");
    const work = join(dir, "work");
    await writeImage(out, "img", ["qcow2", "json", "vmlinuz", "identity.json"], "old");
    await writeFile(join(out, "other.qcow2"), "another image");
    await writeImage(work, "img", ["qcow2", "json"], "new");
    await moveImageInto(work, out, "img", ["img.json", "img.qcow2"]);
    expect((await readdir(out)).sort()).toEqual(["img.json", "img.qcow2", "other.qcow2"]);
    expect(await readFile(join(out, "img.qcow2"), "utf8")).toBe("new qcow2");
    expect(await readFile(join(out, "img.json"), "utf8")).toBe("new json");
    expect(await readdir(work)).toEqual([]);
  });

  it("leaves the old qcow2 in place when a file of the new image is missing", async () => {
    const out = join(dir, "base-image");
    const work = join(dir, "work");
    await writeImage(out, "img", ["qcow2", "json"], "old");
    await writeImage(work, "img", ["qcow2"], "new");
    await expect(moveImageInto(work, out, "img", ["img.json", "img.qcow2"])).rejects.toThrow(
      /ENOENT/,
    );
    expect(await readFile(join(out, "img.qcow2"), "utf8")).toBe("old qcow2");
  });
});

describe("buildRecipe and an image that exists", () => {
  // Nothing listens on port 1: the download fails at once, with no VM and no network.
  const options = (replace: boolean) => ({
    recipe: "ubuntu-noble",
    storeRoot: dir,
    baseUrl: "http://127.0.0.1:1/",
    replace,
  });

  it("refuses without replace, naming --force", async () => {
    await writeImage(join(dir, "base-image"), "ubuntu-noble", ["qcow2", "json"], "old");
    await expect(buildRecipe(options(false))).rejects.toMatchObject({
      code: "IMAGE_EXISTS",
      message: expect.stringContaining("strata-image build --force"),
    });
  });

  it("with replace goes on building, and a failed rebuild leaves the old image untouched", async () => {
    await writeImage(join(dir, "base-image"), "ubuntu-noble", ["qcow2", "json"], "old");
    const error = await buildRecipe(options(true)).catch((e: unknown) => e);
    expect((error as { code?: string }).code).not.toBe("IMAGE_EXISTS");
    expect((error as { code?: string }).code).toMatch(/^[A-Z_]+$/);
    const base = join(dir, "base-image");
    expect((await readdir(base)).filter((f) => f.startsWith("ubuntu-noble")).sort()).toEqual([
      "ubuntu-noble.json",
      "ubuntu-noble.qcow2",
    ]);
    expect(await readFile(join(base, "ubuntu-noble.qcow2"), "utf8")).toBe("old qcow2");
  });
});
