import { execFileSync } from "node:child_process";
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar, { type Header } from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TarRefusedError } from "./errors.js";
import { extractTar, linkEscapes, splitEntryName } from "./extract-tar.js";
import { packDirectory } from "./tar.js";

type Entry = Partial<Header> & { name: string; body?: string | Buffer };

/** A tar stream holding exactly these entries, as a hostile guest could send it. */
function craft(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const { body, ...header } of entries) pack.entry(header, body ?? "");
  pack.finalize();
  return Readable.from(pack);
}

describe("extractTar with hostile streams", () => {
  let dir = "";
  let out = "";
  let outside = "";
  let victim = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-xtar-"));
    out = join(dir, "out");
    outside = join(dir, "outside");
    victim = join(outside, "victim.txt");
    await mkdir(outside);
    await writeFile(victim, "host file\n");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const outsideUnchanged = async () => {
    expect(await readdir(outside)).toEqual(["victim.txt"]);
    expect(await readFile(victim, "utf8")).toBe("host file\n");
  };
  const refused = async (stream: Readable, code = "SSH_TAR_REFUSED") => {
    const error = await extractTar(stream, out).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TarRefusedError);
    expect((error as TarRefusedError).code).toBe(code);
    await outsideUnchanged();
    return error as TarRefusedError;
  };

  it("never writes through a directory symlink the archive created (a -> DIR, then a/y)", async () => {
    const e = await refused(
      craft([
        { name: "a", type: "symlink", linkname: outside },
        { name: "a/y", body: "pwned" },
      ]),
    );
    expect(e.entry).toBe("a/y");
    expect(e.message).toMatch(/goes through "a", which is a symlink/);
  });

  it("never writes through a relative symlink chain (a -> .., b -> a/../outside, then b/y)", async () => {
    await refused(
      craft([
        { name: "a", type: "symlink", linkname: ".." },
        { name: "a/outside/y", body: "pwned" },
      ]),
    );
  });

  it("replaces a file symlink instead of writing through it (v -> FILE, then regular v)", async () => {
    await extractTar(
      craft([
        { name: "v", type: "symlink", linkname: victim },
        { name: "v", body: "cache content" },
      ]),
      out,
    );
    await outsideUnchanged();
    expect((await lstat(join(out, "v"))).isFile()).toBe(true);
    expect(await readFile(join(out, "v"), "utf8")).toBe("cache content");
  });

  it("never follows a symlink that already exists in the target", async () => {
    await mkdir(out);
    await symlink(outside, join(out, "pre"));
    await symlink(victim, join(out, "file"));
    await refused(craft([{ name: "pre/y", body: "pwned" }]));
    await extractTar(craft([{ name: "file", body: "new" }]), out);
    await outsideUnchanged();
    expect(await readFile(join(out, "file"), "utf8")).toBe("new");
  });

  it("refuses hard links outside the target, to links, or to nothing extracted", async () => {
    await refused(craft([{ name: "h", type: "link", linkname: victim }]));
    await refused(craft([{ name: "h", type: "link", linkname: "../outside/victim.txt" }]));
    await refused(
      craft([
        { name: "s", type: "symlink", linkname: victim },
        { name: "h", type: "link", linkname: "s" },
      ]),
    );
    await refused(
      craft([
        { name: "d", type: "symlink", linkname: outside },
        { name: "h", type: "link", linkname: "d/victim.txt" },
      ]),
    );
    await refused(craft([{ name: "h", type: "link", linkname: "missing" }]));
  });

  it("keeps hard links inside the target, and a later file never writes through one", async () => {
    await extractTar(
      craft([
        { name: "f", body: "one" },
        { name: "h", type: "link", linkname: "./f" },
      ]),
      out,
    );
    expect((await stat(join(out, "h"))).ino).toBe((await stat(join(out, "f"))).ino);
    await extractTar(craft([{ name: "h", body: "two" }]), out);
    expect(await readFile(join(out, "f"), "utf8")).toBe("one");
    expect(await readFile(join(out, "h"), "utf8")).toBe("two");
  });

  it("refuses devices, FIFOs, absolute names, .. and a file over a directory", async () => {
    await refused(
      craft([{ name: "sda", type: "block-device", devmajor: 8, devminor: 0, mode: 0o666 }]),
    );
    await refused(craft([{ name: "null", type: "character-device", devmajor: 1, devminor: 3 }]));
    await refused(craft([{ name: "pipe", type: "fifo" }]));
    await refused(craft([{ name: victim, body: "pwned" }]));
    await refused(craft([{ name: "x/../../outside/victim.txt", body: "pwned" }]));
    await refused(
      craft([
        { name: "d", type: "directory" },
        { name: "d", body: "x" },
      ]),
    );
  });

  it("bounds the bytes and the entries of a stream", async () => {
    const big = craft([
      { name: "a", body: Buffer.alloc(600) },
      { name: "b", body: Buffer.alloc(600) },
    ]);
    const e = await extractTar(big, out, { maxBytes: 1000 }).catch((x: TarRefusedError) => x);
    expect(e).toBeInstanceOf(TarRefusedError);
    expect((e as TarRefusedError).code).toBe("SSH_TAR_TOO_LARGE");
    expect((e as TarRefusedError).entry).toBe("b");
    const many = craft(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: "x" })));
    const e2 = await extractTar(many, join(dir, "out2"), { maxEntries: 4 }).catch((x) => x);
    expect((e2 as TarRefusedError).code).toBe("SSH_TAR_TOO_LARGE");
    const ok = craft(Array.from({ length: 4 }, (_, i) => ({ name: `f${i}`, body: "x" })));
    await extractTar(ok, join(dir, "out3"), { maxEntries: 4, maxBytes: 4 });
    expect((await readdir(join(dir, "out3"))).length).toBe(4);
  });

  it("drops set-id bits and keeps directories the host can remove", async () => {
    await extractTar(
      craft([
        { name: "ro", type: "directory", mode: 0o555 },
        { name: "ro/suid", body: "#!/bin/sh\n", mode: 0o4755 },
      ]),
      out,
    );
    expect((await stat(join(out, "ro", "suid"))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(out, "ro"))).mode & 0o777).toBe(0o755);
  });

  it("takes what GNU tar writes: long names, hard links, symlinks, an empty dir", async () => {
    const src = join(dir, "src");
    const long = "d".repeat(120);
    await mkdir(join(src, long, "empty"), { recursive: true });
    await writeFile(join(src, long, "f.txt"), "ü\n");
    await link(join(src, long, "f.txt"), join(src, "hard"));
    await symlink("/etc/passwd", join(src, "abs"));
    const stream = Readable.from(execFileSync("tar", ["-cf", "-", "-C", src, "."]));
    await extractTar(stream, out);
    expect(await readFile(join(out, long, "f.txt"), "utf8")).toBe("ü\n");
    expect(await readFile(join(out, "hard"), "utf8")).toBe("ü\n");
    expect(await readlink(join(out, "abs"))).toBe("/etc/passwd");
    expect((await stat(join(out, long, "empty"))).isDirectory()).toBe(true);
  });

  it("leaves out links that escape the target when asked to, and reports them", async () => {
    const skipped: string[] = [];
    await extractTar(
      craft([
        { name: "d", type: "directory" },
        { name: "d/abs", type: "symlink", linkname: victim },
        { name: "d/up", type: "symlink", linkname: "../../outside/victim.txt" },
        { name: "d/in", type: "symlink", linkname: "../f" },
        { name: "f", body: "inside" },
      ]),
      out,
      { escapingLinks: "skip", onSkippedLink: (name, to) => skipped.push(`${name} -> ${to}`) },
    );
    expect(skipped).toEqual([`d/abs -> ${victim}`, "d/up -> ../../outside/victim.txt"]);
    expect((await readdir(join(out, "d"))).sort()).toEqual(["in"]);
    expect(await readFile(join(out, "d/in"), "utf8")).toBe("inside");
    await outsideUnchanged();
  });

  it("round-trips packDirectory", async () => {
    const src = join(dir, "src");
    await mkdir(join(src, "a"), { recursive: true });
    await writeFile(join(src, "a", "x"), "x");
    await symlink("a/x", join(src, "l"));
    await extractTar(packDirectory(src), out);
    expect(await readFile(join(out, "a", "x"), "utf8")).toBe("x");
    expect(await readlink(join(out, "l"))).toBe("a/x");
  });
});

describe("linkEscapes", () => {
  it("reads the target lexically from the link's own directory", () => {
    expect(linkEscapes(["a"], "/etc/passwd")).toBe(true);
    expect(linkEscapes(["a"], "..")).toBe(true);
    expect(linkEscapes(["a"], "b/../..")).toBe(true);
    expect(linkEscapes(["d", "a"], "../b")).toBe(false);
    expect(linkEscapes(["d", "a"], "../../b")).toBe(true);
    expect(linkEscapes(["d", "a"], "./x/../y")).toBe(false);
    expect(linkEscapes(["a"], "b")).toBe(false);
  });
});

describe("splitEntryName", () => {
  it("drops . and empty segments and refuses what leaves the target", () => {
    expect(splitEntryName("./a//b/")).toEqual({ segments: ["a", "b"] });
    expect(splitEntryName("./")).toEqual({ segments: [] });
    expect(splitEntryName("/etc/passwd")).toHaveProperty("problem");
    expect(splitEntryName("a/../../b")).toHaveProperty("problem");
    expect(splitEntryName("a\0b")).toHaveProperty("problem");
  });
});
