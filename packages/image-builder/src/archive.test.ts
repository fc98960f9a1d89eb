import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportImage } from "./archive-export.js";
import { checkEntryName, checkImportedManifest, importImage } from "./archive-import.js";

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

  /** Archives one crafted image (and optional manifest); returns the import's error and the store dir. */
  async function importCrafted(label: string, files: Record<string, Buffer | string>) {
    const archive = join(dir, `${label}.tar.zst`);
    await craft(archive, [
      { name: "SHA256SUMS", body: sums(files) },
      ...Object.entries(files).map(([name, body]) => ({ name, body })),
    ]);
    const target = join(dir, `store-${label}`);
    const error = await importImage({ archive, baseImageDir: target }).then(
      () => undefined,
      (e: { code: string; message: string }) => e,
    );
    return { error, left: execFileSync("ls", ["-A", target], { encoding: "utf8" }) };
  }

  it.each([
    ["an external data file", ["-o", `data_file=${"DATA"}`], /external data file/],
    [
      "a raw external data file",
      ["-o", `data_file=${"DATA"},data_file_raw=on`],
      /external data file/,
    ],
    [
      "a json: backing file",
      ["-u", "-F", "raw", "-b", 'json:{"driver":"file","filename":"/etc/hostname"}'],
      /backing file/,
    ],
  ])(
    "refuses a qcow2 with %s (made by a real qemu-img), before anything enters the store",
    async (label, opts, message) => {
      const work = await mkdtemp(join(dir, "qcow-"));
      const image = join(work, "ext.qcow2");
      const args = opts.map((o) => o.replace("DATA", join(work, "data.raw")));
      execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", ...args, image, "16M"]);
      const { error, left } = await importCrafted(label.replace(/\W+/g, "-"), {
        "ext.qcow2": await readFile(image),
      });
      expect(error).toMatchObject({ code: "IMAGE_ARCHIVE_INVALID" });
      expect(error?.message).toMatch(message);
      expect(left).toBe("");
    },
  );

  it("refuses a file that is not a qcow2 under a .qcow2 name", async () => {
    const { error, left } = await importCrafted("raw", { "raw.qcow2": Buffer.alloc(4096) });
    expect(error?.message).toMatch(/not a qcow2 image/);
    expect(left).toBe("");
  });

  it.each([
    ["an absolute kernel", { boot: { mode: "kernel", kernel: "/etc/hostname", cmdline: "x" } }],
    ["a kernel outside", { boot: { mode: "kernel", kernel: "../../etc/hostname", cmdline: "x" } }],
    ["a key in a directory", { ssh: { user: "u", privateKey: "keys/id" } }],
    [
      "an initrd it does not hold",
      { boot: { mode: "kernel", kernel: "m.vmlinuz", initrd: "m.initrd", cmdline: "x" } },
    ],
    ["a key that is not a string", { ssh: { user: "u", privateKey: 7 } }],
  ])("refuses a manifest naming %s, before anything enters the store", async (label, manifest) => {
    const { error, left } = await importCrafted(`m-${label.replace(/\W+/g, "-")}`, {
      "m.qcow2": qcow2,
      "m.vmlinuz": "kernel",
      "m.json": JSON.stringify({ name: "m", ...manifest }),
    });
    expect(error).toMatchObject({ code: "IMAGE_ARCHIVE_INVALID" });
    expect(error?.message).toMatch(/m\.json is refused/);
    expect(left).toBe("");
  });

  it("checkImportedManifest accepts the archive's own file names only", () => {
    const files = ["a.qcow2", "a.json", "a.vmlinuz", "a.key"];
    expect(
      checkImportedManifest(
        { boot: { kernel: "a.vmlinuz" }, ssh: { privateKey: "a.key", user: "u" } },
        files,
      ),
    ).toEqual([]);
    expect(checkImportedManifest({ boot: { kernel: "/boot/vmlinuz" } }, files)).toHaveLength(1);
    expect(checkImportedManifest({ ssh: "x" }, files)).toEqual(["ssh is not an object"]);
    expect(checkImportedManifest([], files)).toEqual(["the manifest is not a JSON object"]);
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
    // It would replace the import's owner record, and a later command would reap a live import.
    expect(checkEntryName(".owner.json")).toMatch(/hidden file/);
  });
});
