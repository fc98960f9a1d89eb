import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArchiveError } from "./errors.js";
import {
  checkTaskclusterListing,
  exportTaskclusterImage,
  importTaskclusterImage,
  isTaskclusterArchive,
  parseTarListing,
} from "./taskcluster-archive.js";

// Real archives made with GNU tar, zstd, lz4 and qemu-img; no VM.
const MACHINE = {
  version: 1,
  uuid: "52bab607-10f1-4049-a0f8-ee4725cb715b",
  network: "e1000",
  mac: "aa:54:1a:30:5c:de",
  memory: 256,
};

let root: string;
const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString();

/** A taskcluster archive of the files in `dir` (names as given, in that order). */
function pack(dir: string, names: string[], out: string, compress = "--zstd") {
  sh("tar", [compress === "lz4" ? "-Ilz4" : compress, "-S", "-c", "-f", out, "-C", dir, ...names]);
  return out;
}

/** disk.img (a marker at byte 0), layer.qcow2 on it, machine.json: a valid image's members. */
async function members(name: string, machine: unknown = MACHINE): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  sh("truncate", ["-s", "8M", join(dir, "disk.img")]);
  await writeFile(join(dir, "disk.img"), Buffer.from(`marker:${name}\n`), { flag: "r+" });
  sh(
    "qemu-img",
    ["create", "-q", "-f", "qcow2", "-b", "disk.img", "-F", "raw", "layer.qcow2"],
    dir,
  );
  await writeFile(join(dir, "machine.json"), JSON.stringify(machine));
  return dir;
}

async function storeDir(name: string): Promise<string> {
  const d = join(root, `store-${name}`, "base-image");
  await mkdir(d, { recursive: true });
  return d;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "strata-tc-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("taskcluster listings", () => {
  it("reads GNU tar's verbose listing", () => {
    expect(parseTarListing("-rw-r--r-- 0/0   1073741824 2026-11-30 13:00 disk.img")).toEqual({
      type: "-",
      size: 1073741824,
      name: "disk.img",
    });
  });

  it("wants exactly the three members, each once, as regular files", () => {
    const line = (t: string, name: string, size = 10) =>
      `${t}rw-r--r-- 0/0 ${size} 2026-11-30 13:00 ${name}`;
    const ok = ["disk.img", "layer.qcow2", "machine.json"].map((n) => line("-", n));
    expect(checkTaskclusterListing(ok, 100)).toEqual([]);
    expect(checkTaskclusterListing([...ok, line("-", "evil.sh")], 100)[0]).toMatch(/evil\.sh/);
    expect(checkTaskclusterListing([...ok, line("-", "disk.img")], 100)[0]).toMatch(/twice/);
    expect(checkTaskclusterListing(ok.slice(1), 100)[0]).toMatch(/disk\.img" is missing/);
    expect(
      checkTaskclusterListing([line("l", "disk.img -> /etc/passwd"), ...ok.slice(1)], 100),
    ).toContain('"disk.img -> /etc/passwd" is not one of disk.img, layer.qcow2, machine.json');
    expect(checkTaskclusterListing([line("h", "disk.img"), ...ok.slice(1)], 100)[0]).toMatch(
      /not a regular file/,
    );
    expect(checkTaskclusterListing([line("-", "disk.img", 500), ...ok.slice(1)], 100)[0]).toMatch(
      /over the 100 limit/,
    );
  });
});

describe("taskcluster image archives", () => {
  it("imports one (zstd and lz4) with its machine, and exports it back byte for byte", async () => {
    const dir = await members("good");
    const store = await storeDir("good");
    for (const [c, ext] of [
      ["--zstd", "zst"],
      ["lz4", "lz4"],
    ] as const) {
      const archive = pack(
        dir,
        ["disk.img", "layer.qcow2", "machine.json"],
        join(root, `g.tar.${ext}`),
        c,
      );
      expect(await isTaskclusterArchive(archive)).toBe(true);
      const name = `tc-${ext}`;
      await importTaskclusterImage({ archive, baseImageDir: store, name, ssh: { user: "tc" } });
      const manifest = JSON.parse(await readFile(join(store, `${name}.json`), "utf8"));
      expect(manifest.machine).toEqual(MACHINE);
      expect(manifest.ssh).toEqual({ user: "tc", port: 22 });
      const info = JSON.parse(
        sh("qemu-img", ["info", "--output=json", join(store, `${name}.qcow2`)]),
      );
      expect(info["backing-filename"]).toBeUndefined();
      sh("qemu-img", [
        "compare",
        "-f",
        "raw",
        "-F",
        "qcow2",
        join(dir, "disk.img"),
        join(store, `${name}.qcow2`),
      ]);
    }
    const out = join(root, "back.tar.zst");
    await exportTaskclusterImage({ baseImageDir: store, name: "tc-zst", outPath: out });
    const again = join(root, "again");
    await mkdir(again);
    sh("tar", ["--zstd", "-x", "-f", out, "-C", again]);
    expect((await readdir(again)).sort()).toEqual(["disk.img", "layer.qcow2", "machine.json"]);
    expect(JSON.parse(await readFile(join(again, "machine.json"), "utf8"))).toEqual(MACHINE);
    sh("qemu-img", [
      "compare",
      "-f",
      "raw",
      "-F",
      "raw",
      join(dir, "disk.img"),
      join(again, "disk.img"),
    ]);
    const layer = JSON.parse(sh("qemu-img", ["info", "--output=json", join(again, "layer.qcow2")]));
    expect(layer["backing-filename"]).toBe("disk.img");
    // A strata archive is not mistaken for one.
    const plain = join(root, "plain");
    await mkdir(plain);
    await writeFile(join(plain, "SHA256SUMS"), "");
    expect(await isTaskclusterArchive(pack(plain, ["SHA256SUMS"], join(root, "s.tar.zst")))).toBe(
      false,
    );
  });

  const hostile: [string, (dir: string) => Promise<string[]>, RegExp][] = [
    [
      "a member that is a symlink to a host file",
      async (dir) => {
        await rm(join(dir, "machine.json"));
        await symlink("/etc/passwd", join(dir, "machine.json"));
        return ["disk.img", "layer.qcow2", "machine.json"];
      },
      /machine\.json -> \/etc\/passwd/,
    ],
    [
      "an extra member",
      async (dir) => {
        await writeFile(join(dir, "run.sh"), "rm -rf /");
        return ["disk.img", "layer.qcow2", "machine.json", "run.sh"];
      },
      /"run\.sh" is not one of/,
    ],
    [
      "a layer backed by a host file",
      async (dir) => {
        await rm(join(dir, "layer.qcow2"));
        sh(
          "qemu-img",
          ["create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw", "layer.qcow2"],
          dir,
        );
        return ["disk.img", "layer.qcow2", "machine.json"];
      },
      /must be backed by "disk\.img", not "\/etc\/hostname"/,
    ],
    [
      "a layer with an external data file",
      async (dir) => {
        await rm(join(dir, "layer.qcow2"));
        sh(
          "qemu-img",
          [
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            "data_file=/tmp/strata-tc-data",
            "layer.qcow2",
            "8M",
          ],
          dir,
        );
        return ["disk.img", "layer.qcow2", "machine.json"];
      },
      /data file|backed by/,
    ],
    [
      "a disk.img that is really a qcow2 backed by a host file",
      async (dir) => {
        await rm(join(dir, "disk.img"));
        sh(
          "qemu-img",
          ["create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw", "disk.img"],
          dir,
        );
        await rm(join(dir, "layer.qcow2"));
        sh(
          "qemu-img",
          ["create", "-q", "-f", "qcow2", "-b", "disk.img", "-F", "qcow2", "layer.qcow2"],
          dir,
        );
        return ["disk.img", "layer.qcow2", "machine.json"];
      },
      /backing file's format as raw/,
    ],
    [
      "an invalid machine.json",
      async (dir) => {
        await writeFile(join(dir, "machine.json"), JSON.stringify({ mac: "ff:ff:ff:ff:ff:ff" }));
        return ["disk.img", "layer.qcow2", "machine.json"];
      },
      /machine\.json: mac: must be a locally administered/,
    ],
  ];
  for (const [what, make, message] of hostile) {
    it(`refuses ${what}, adding nothing to the store`, async () => {
      const slug = what.replace(/\W+/g, "-");
      const dir = await members(slug);
      const archive = pack(dir, await make(dir), join(root, `${slug}.tar.zst`));
      const store = await storeDir(slug);
      const err = await importTaskclusterImage({ archive, baseImageDir: store, name: "x" }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ArchiveError);
      expect((err as Error).message).toMatch(message);
      expect(await readdir(store)).toEqual([]);
    });
  }
});
