import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { extractTar } from "./extract-tar.js";
import { packDirectory } from "./tar.js";

describe("host-side tar streams", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("packs a directory and extracts it elsewhere unchanged", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-tar-"));
    const src = join(dir, "src");
    await mkdir(join(src, "a", "b"), { recursive: true });
    await writeFile(join(src, "top.txt"), "top\n");
    await writeFile(join(src, "a", "b", "deep.bin"), Buffer.alloc(70_000, 7), { mode: 0o755 });
    await symlink("../top.txt", join(src, "a", "link"));
    await extractTar(packDirectory(src), join(dir, "out"));
    expect(await readFile(join(dir, "out", "top.txt"), "utf8")).toBe("top\n");
    expect(
      (await readFile(join(dir, "out", "a", "b", "deep.bin"))).equals(Buffer.alloc(70_000, 7)),
    ).toBe(true);
    expect(await readlink(join(dir, "out", "a", "link"))).toBe("../top.txt");
  });

  it("refuses entries that would land outside the target", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-tar-"));
    const pack = tar.pack();
    pack.entry({ name: "../escape.txt" }, "nope");
    pack.finalize();
    await expect(extractTar(Readable.from(pack), join(dir, "out"))).rejects.toThrow(/outside/);
  });
});
