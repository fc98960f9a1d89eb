import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportImage } from "./archive-export.js";
import { checkEntryName, importImage } from "./archive-import.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

interface Entry {
  name: string;
  body?: Buffer | string;
  type?: "file" | "symlink" | "link" | "directory";
  linkname?: string;
  size?: number;
}

/** Writes a crafted .tar.zst, for archives exportImage would never make. */
async function craft(path: string, entries: Entry[]): Promise<void> {
  const pack = tar.pack();
  const zstd = execa("zstd", ["-q", "-f", "-o", path], { stdin: "pipe" });
  pack.pipe(zstd.stdin);
  for (const e of entries) {
    const body = e.body === undefined ? undefined : Buffer.from(e.body);
    const header = {
      name: e.name,
      type: e.type ?? "file",
      size: e.size ?? body?.length ?? 0,
      ...(e.linkname ? { linkname: e.linkname } : {}),
    } as const;
    if (body) pack.entry(header, body);
    else pack.entry(header, "");
  }
  pack.finalize();
  await zstd;
}

describe("image archives", () => {
  let dir = "";
  let store = "";
  let qcow2 = Buffer.alloc(0);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-archive-"));
    store = join(dir, "base-image");
    await mkdir(store);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(store, "tiny.qcow2"), "16M"]);
    qcow2 = await readFile(join(store, "tiny.qcow2"));
    await writeFile(join(dir, "kernel"), "kernel bytes");
    await writeFile(join(store, "tiny.key"), "private key", { mode: 0o600 });
    const manifest = {
      name: "tiny",
      boot: { mode: "kernel", kernel: join(dir, "kernel"), cmdline: "x" },
      ssh: { user: "u", privateKey: "tiny.key" },
    };
    await writeFile(join(store, "tiny.json"), JSON.stringify(manifest));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exports and imports under a new name, kernel and key carried along", async () => {
    const archive = join(dir, "tiny.tar.zst");
    const out = await exportImage({ baseImageDir: store, name: "tiny", outPath: archive });
    expect(out.files.sort()).toEqual(["tiny.json", "tiny.key", "tiny.qcow2", "tiny.vmlinuz"]);
    const other = join(dir, "other");
    const got = await importImage({ archive, baseImageDir: other, name: "copy" });
    expect(got.files.sort()).toEqual(["copy.json", "copy.key", "copy.qcow2", "copy.vmlinuz"]);
    expect((await readFile(join(other, "copy.qcow2"))).equals(qcow2)).toBe(true);
    expect(await readFile(join(other, "copy.vmlinuz"), "utf8")).toBe("kernel bytes");
    expect((await stat(join(other, "copy.key"))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(other, "copy.json"), "utf8"))).toMatchObject({
      name: "copy",
      boot: { kernel: "copy.vmlinuz" },
      ssh: { privateKey: "copy.key" },
    });
    await expect(importImage({ archive, baseImageDir: other, name: "copy" })).rejects.toMatchObject(
      { code: "IMAGE_EXISTS" },
    );
  });

  const sums = (files: Record<string, Buffer | string>) =>
    Object.entries(files)
      .map(([n, b]) => `${sha(b)}  ${n}`)
      .join("\n");

  it.each([
    [
      "path traversal",
      [
        { name: "SHA256SUMS", body: sums({ "../evil.qcow2": "x" }) },
        { name: "../evil.qcow2", body: "x" },
      ],
      /path traversal/,
    ],
    [
      "an absolute path",
      [
        { name: "SHA256SUMS", body: "" },
        { name: "/etc/evil", body: "x" },
      ],
      /path traversal/,
    ],
    [
      "a symbolic link out of the archive",
      [
        { name: "SHA256SUMS", body: "" },
        { name: "a.qcow2", type: "symlink", linkname: "/etc/shadow" },
      ],
      /symbolic link \(to "\/etc\/shadow"\)/,
    ],
    [
      "a hard link",
      [
        { name: "SHA256SUMS", body: "" },
        { name: "a.qcow2", type: "link", linkname: "../../etc/passwd" },
      ],
      /hard link/,
    ],
    [
      "a directory",
      [
        { name: "SHA256SUMS", body: "" },
        { name: "sub", type: "directory" },
      ],
      /only regular files/,
    ],
    [
      "an entry over the size limit",
      [
        { name: "SHA256SUMS", body: sums({ "a.qcow2": "y" }) },
        { name: "a.qcow2", body: Buffer.alloc(2048) },
      ],
      /over the limit of 1024/,
    ],
    [
      "a checksum mismatch",
      [
        { name: "SHA256SUMS", body: sums({ "a.qcow2": "original" }) },
        { name: "a.qcow2", body: "altered!" },
      ],
      /does not match its checksum/,
    ],
    [
      "an unlisted file",
      [
        { name: "SHA256SUMS", body: "" },
        { name: "a.qcow2", body: "x" },
      ],
      /not listed/,
    ],
    ["no checksums first", [{ name: "a.qcow2", body: "x" }], /first entry/],
  ] as [string, Entry[], RegExp][])("rejects %s", async (_what, entries, message) => {
    const archive = join(dir, `bad-${Math.random()}.tar.zst`);
    await craft(archive, entries);
    const target = join(dir, "rejected");
    const err = await importImage({ archive, baseImageDir: target, maxEntryBytes: 1024 }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: "IMAGE_ARCHIVE_INVALID" });
    expect(err.message).toMatch(message);
    await expect(stat(join(dir, "evil.qcow2"))).rejects.toThrow();
    expect(execFileSync("ls", ["-A", target], { encoding: "utf8" })).toBe("");
  });

  it("rejects a qcow2 with a backing file, which could read the host's files", async () => {
    const overlay = join(dir, "ov.qcow2");
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "raw",
      "-b",
      "/etc/hostname",
      overlay,
    ]);
    const body = await readFile(overlay);
    const archive = join(dir, "backing.tar.zst");
    await craft(archive, [
      { name: "SHA256SUMS", body: sums({ "ov.qcow2": body }) },
      { name: "ov.qcow2", body },
    ]);
    await expect(importImage({ archive, baseImageDir: join(dir, "b") })).rejects.toThrow(
      /backing file \("\/etc\/hostname"\)/,
    );
  });

  it("rejects a file that is not zstd", async () => {
    const archive = join(dir, "plain.tar");
    await writeFile(archive, Buffer.alloc(10240));
    await expect(importImage({ archive, baseImageDir: join(dir, "c") })).rejects.toMatchObject({
      code: "IMAGE_ARCHIVE_INVALID",
    });
  });

  it("checkEntryName", () => {
    expect(checkEntryName("a.qcow2")).toBeUndefined();
    expect(checkEntryName("x/../../y")).toMatch(/traversal/);
    expect(checkEntryName("dir/a")).toMatch(/flat/);
  });
});
