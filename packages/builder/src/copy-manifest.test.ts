import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildCopyManifest } from "./copy-manifest.js";
import { packCopyManifest } from "./copy-tar.js";

let dir: string;
let ctx: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-copy-"));
  ctx = join(dir, "ctx");
  await mkdir(join(ctx, "src/node_modules/x"), { recursive: true });
  await writeFile(join(ctx, "src/main.c"), "int main(){}\n");
  await writeFile(join(ctx, "src/run.sh"), "#!/bin/sh\n");
  await chmod(join(ctx, "src/run.sh"), 0o700);
  await writeFile(join(ctx, "src/node_modules/x/y"), "junk");
  await symlink("main.c", join(ctx, "src/link"));
  await writeFile(join(dir, "outside"), "secret");
  await symlink("..", join(ctx, "up"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("buildCopyManifest", () => {
  it("lists sources sorted, with excludes at every depth, hashes and links", async () => {
    const m = await buildCopyManifest({
      contextDir: ctx,
      src: ["src"],
      dst: "/app/",
      exclude: ["node_modules"],
    });
    expect(m.map((e) => [e.dest, e.type])).toEqual([
      ["/app/src", "dir"],
      ["/app/src/link", "symlink"],
      ["/app/src/main.c", "file"],
      ["/app/src/run.sh", "file"],
    ]);
    expect(m[1]?.linkTarget).toBe("main.c");
    expect(m[2]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(m[3]?.executable).toBe(true);
    expect(m[2]?.executable).toBe(false);
  });
  it("copies a single source as the destination", async () => {
    const m = await buildCopyManifest({
      contextDir: ctx,
      src: ["src/main.c"],
      dst: "/usr/src/prog.c",
      exclude: [],
    });
    expect(m.map((e) => e.dest)).toEqual(["/usr/src/prog.c"]);
  });
  it("rejects several sources without a trailing slash, missing sources and escapes", async () => {
    await expect(
      buildCopyManifest({ contextDir: ctx, src: ["src", "up"], dst: "/app", exclude: [] }),
    ).rejects.toThrow(/ending in "\/"/);
    await expect(
      buildCopyManifest({ contextDir: ctx, src: ["nope"], dst: "/a", exclude: [] }),
    ).rejects.toMatchObject({ code: "COPY_SOURCE_INVALID", path: "nope" });
    await expect(
      buildCopyManifest({ contextDir: ctx, src: ["up/outside"], dst: "/a", exclude: [] }),
    ).rejects.toThrow(/leaves the build context through the symlink "up"/);
  });
});

describe("packCopyManifest", () => {
  it("writes owners and normalised modes that GNU tar reads back", async () => {
    const m = await buildCopyManifest({
      contextDir: ctx,
      src: ["src"],
      dst: "/app/",
      exclude: ["node_modules"],
    });
    const listing = execFileSync("tar", ["-tvf", "-", "--numeric-owner"], {
      input: await buffer(packCopyManifest(m, { uid: 1000, gid: 1001 })),
    }).toString();
    expect(listing).toMatch(/^drwxr-xr-x 1000\/1001 .* app\/src\/?$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 1000\/1001 .* app\/src\/link -> main.c$/m);
    expect(listing).toMatch(/^-rw-r--r-- 1000\/1001 .* app\/src\/main.c$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 1000\/1001 .* app\/src\/run.sh$/m);
  });
});
