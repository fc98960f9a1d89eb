import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { TarRefusedError } from "@strata/ssh-transport";
import { openStore, type Store } from "@strata/store";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CacheInUseError, CacheNotFoundError, CacheTransferFailedError } from "./errors.js";
import type { CacheEvent } from "./events.js";
import { listCaches, removeCache } from "./manage.js";
import { openCaches } from "./open-caches.js";
import type { OpenCachesOptions } from "./options.js";
import { localSession, tempDir } from "./test-support.js";

let dir: ReturnType<typeof tempDir>;
let store: Store;
const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

beforeEach(async () => {
  dir = tempDir();
  store = await openStore({ root: join(dir.path, "store") });
});
afterEach(() => {
  store.close();
  dir.remove();
});

function options(target: string, more: Partial<OpenCachesOptions> = {}): OpenCachesOptions {
  return { store, caches: [{ id: "dl", target }], os: "linux", user: me, ...more };
}
const scratch = () => readdirSync(store.cacheTmpDir());

describe("copy strategy (real tar through a local shell)", () => {
  it("a new cache is empty; what a step leaves becomes the next version, seen by the next step", async () => {
    const { session } = localSession();
    const target = join(dir.path, "guest", "dl");
    const events: CacheEvent[] = [];
    {
      await using caches = await openCaches(
        options(target, { strategy: "copy", onEvent: (e) => events.push(e) }),
      );
      expect(caches.drives).toEqual([]);
      await caches.attach(session);
      expect(readdirSync(target)).toEqual([]);
      writeFileSync(join(target, "a.tar.gz"), "archive");
      await caches.detach(session);
      expect(readdirSync(target)).toEqual([]); // emptied: the layer keeps no copy
      expect(await caches.commit()).toEqual([{ cache: "dl", outcome: "committed", generation: 1 }]);
    }
    expect(events.map((e) => e.type)).toEqual(["checkout", "transfer", "transfer", "commit"]);
    expect(scratch()).toEqual([]);
    {
      await using caches = await openCaches(options(target));
      await caches.attach(session);
      expect(readFileSync(join(target, "a.tar.gz"), "utf8")).toBe("archive");
      await caches.detach(session);
      expect((await caches.commit())[0]?.generation).toBe(2);
    }
    const [info] = await listCaches(store);
    expect(info).toMatchObject({ name: "dl", kind: "tree", generation: 2, inUse: false });
  });

  it("two checkouts at once: the first commit wins, the other is dropped as stale", async () => {
    const { session } = localSession();
    const [t1, t2] = [join(dir.path, "g1"), join(dir.path, "g2")];
    await using first = await openCaches(options(t1, { strategy: "copy" }));
    await using second = await openCaches(options(t2, { strategy: "copy" }));
    await first.attach(session);
    await second.attach(session);
    writeFileSync(join(t1, "one"), "1");
    writeFileSync(join(t2, "two"), "2");
    await first.detach(session);
    await second.detach(session);
    expect((await first.commit())[0]?.outcome).toBe("committed");
    expect(await second.commit()).toEqual([{ cache: "dl", outcome: "stale", generation: 1 }]);
    expect(readdirSync(join(store.cacheDir("dl"), "v1.tree"))).toEqual(["one"]);
  });

  it("a copy that did not come back is never committed, and dispose leaves the cache as it was", async () => {
    const { session } = localSession();
    const target = join(dir.path, "g");
    {
      await using caches = await openCaches(options(target, { strategy: "copy" }));
      await caches.attach(session);
      writeFileSync(join(target, "keep"), "k");
      await caches.detach(session);
      await caches.commit();
    }
    {
      await using caches = await openCaches(options(target));
      await caches.attach(session);
      writeFileSync(join(target, "lost"), "x");
      rmSync(target, { recursive: true }); // the transfer back breaks: tar cannot read the target
      const error = await caches.detach(session).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CacheTransferFailedError);
      expect((error as CacheTransferFailedError).code).toBe("CACHE_TRANSFER_FAILED");
      expect(await caches.commit()).toEqual([
        { cache: "dl", outcome: "incomplete", generation: 1 },
      ]);
    }
    {
      // Never detached (the VM died): disposing discards the checkout.
      await using caches = await openCaches(options(target));
      await caches.attach(session);
      writeFileSync(join(target, "lost"), "x");
      expect(store.cacheInUse("dl")).toBe(true);
    }
    expect(store.cacheInUse("dl")).toBe(false);
    expect(readdirSync(store.cacheDir("dl"))).toEqual(["v1.tree"]);
    expect(readdirSync(join(store.cacheDir("dl"), "v1.tree"))).toEqual(["keep"]);
    expect(scratch()).toEqual([]);
  });

  it("a hostile tar stream back is refused: nothing written outside, the previous version stays", async () => {
    const { session } = localSession();
    const target = join(dir.path, "g");
    {
      await using caches = await openCaches(options(target, { strategy: "copy" }));
      await caches.attach(session);
      writeFileSync(join(target, "keep"), "k");
      await caches.detach(session);
      await caches.commit();
    }
    // The guest's root replaced `tar`: its "archive" plants links and writes through them.
    const outside = join(dir.path, "host");
    mkdirSync(outside);
    writeFileSync(join(outside, "victim"), "host file");
    const evil = join(dir.path, "evil.tar");
    const [d1, d2] = [join(dir.path, "d1"), join(dir.path, "d2")];
    mkdirSync(join(d2, "esc"), { recursive: true });
    mkdirSync(d1);
    symlinkSync(outside, join(d1, "esc"));
    symlinkSync(join(outside, "victim"), join(d1, "v"));
    writeFileSync(join(d2, "esc", "planted"), "pwned");
    writeFileSync(join(d2, "v"), "pwned");
    // GNU tar appends a second archive's entries: symlinks first, then files through them.
    await execa("tar", ["-cf", evil, "-C", d1, "./esc", "./v"]);
    await execa("tar", ["-rf", evil, "-C", d2, "./esc/planted", "./v"]);
    const bin = join(dir.path, "bin");
    mkdirSync(bin);
    writeFileSync(
      join(bin, "tar"),
      `#!/bin/sh\ncase "$1" in -cf) exec cat ${evil} ;; esac\nexec /usr/bin/tar "$@"\n`,
      { mode: 0o755 },
    );
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      await using caches = await openCaches(options(target));
      await caches.attach(session);
      writeFileSync(join(target, "lost"), "x");
      const error = await caches.detach(session).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CacheTransferFailedError);
      const cause = (error as CacheTransferFailedError).failures[0]?.error;
      expect(cause).toBeInstanceOf(TarRefusedError);
      expect((cause as TarRefusedError).entry).toBe("./esc/planted");
      expect(await caches.commit()).toEqual([
        { cache: "dl", outcome: "incomplete", generation: 1 },
      ]);
    } finally {
      process.env.PATH = path;
    }
    expect(readdirSync(outside)).toEqual(["victim"]);
    expect(readFileSync(join(outside, "victim"), "utf8")).toBe("host file");
    expect(readdirSync(join(store.cacheDir("dl"), "v1.tree"))).toEqual(["keep"]);
    expect(scratch()).toEqual([]);
  });

  it("a copy coming back over the size limit is refused and not committed", async () => {
    const { session } = localSession();
    const target = join(dir.path, "g");
    await using caches = await openCaches(
      options(target, { strategy: "copy", copyMaxBytes: 1000 }),
    );
    await caches.attach(session);
    writeFileSync(join(target, "big"), Buffer.alloc(2000));
    const error = await caches.detach(session).catch((e: unknown) => e);
    const cause = (error as CacheTransferFailedError).failures[0]?.error;
    expect((cause as TarRefusedError).code).toBe("SSH_TAR_TOO_LARGE");
    expect(await caches.commit()).toEqual([{ cache: "dl", outcome: "incomplete", generation: 0 }]);
  });

  it("a cache that was not sent in whole is not brought back", async () => {
    const { session } = localSession();
    const target = join(dir.path, "g");
    await using caches = await openCaches(options(target, { strategy: "copy" }));
    const checkout = readdirSync(store.cacheTmpDir()).find((e) => !e.endsWith(".lock"))!;
    rmSync(join(store.cacheTmpDir(), checkout, "tree"), { recursive: true });
    await expect(caches.attach(session)).rejects.toBeInstanceOf(CacheTransferFailedError);
    writeFileSync(join(target, "partial"), "x");
    await caches.detach(session);
    expect(await caches.commit()).toEqual([{ cache: "dl", outcome: "incomplete", generation: 0 }]);
    expect(existsSync(store.cacheDir("dl"))).toBe(false);
  });

  it("rejects bad options before touching anything, listing every problem", async () => {
    const error = await openCaches({
      ...options("relative"),
      caches: [
        { id: "", target: "/" },
        { id: "x", target: "rel" },
      ],
      user: { uid: -1, gid: 0 },
    }).catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe("CACHE_OPTIONS");
    expect((error as { problems: string[] }).problems).toEqual([
      "user: must be { uid, gid } (whole numbers >= 0) or { name }",
      'caches[0].id: Invalid cache name "": it is empty.',
      "caches[0].target: must not be the root directory",
      "caches[1].target: must be an absolute path",
    ]);
    expect(existsSync(store.cacheDir("x"))).toBe(false);
  });
});

describe("disk strategy (real mke2fs, qemu-img, qemu-io)", () => {
  const qemuIo = (image: string, cmd: string) =>
    execa("qemu-io", ["-f", "qcow2", "-c", cmd, image], { reject: false });

  it("creates an empty ext4 disk owned by the step's user, with a stable UUID", async () => {
    const { session, commands } = localSession();
    await using caches = await openCaches(
      options("/home/opam/dl", { user: { uid: 1000, gid: 1001 }, diskSizeBytes: 2 ** 30 }),
    );
    expect(caches.drives).toHaveLength(1);
    const drive = caches.drives[0]!;
    expect(drive).toMatchObject({ format: "qcow2", interface: "virtio" });
    const base = join(drive.path, "..", "base.qcow2");
    const raw = join(dir.path, "check.raw");
    await execa("qemu-img", ["convert", "-O", "raw", base, raw]);
    const root = await execa("debugfs", ["-R", "stat /", raw]);
    expect(root.stdout).toMatch(/User:\s+1000\s+Group:\s+1001/);
    const ls = await execa("debugfs", ["-R", "ls /", raw]);
    expect(ls.stdout).not.toMatch(/lost\+found/);
    const uuid = (await execa("dumpe2fs", ["-h", raw])).stdout.match(/UUID:\s+(\S+)/)?.[1];
    await caches.attach(session);
    expect(commands.at(-1)).toContain(`UUID=${uuid} /home/opam/dl`);
  });

  it("commits what the step wrote unless the cache changed since checkout", async () => {
    const { session } = localSession();
    const open = () => openCaches(options("/c", { diskSizeBytes: 2 ** 28 }));
    {
      await using caches = await open();
      await caches.attach(session);
      await qemuIo(caches.drives[0]!.path, "write -P 0x11 64M 1M");
      await caches.detach(session);
      expect((await caches.commit())[0]).toMatchObject({ outcome: "committed", generation: 1 });
    }
    const v1 = join(store.cacheDir("dl"), "v1.qcow2");
    expect((await qemuIo(v1, "read -P 0x11 64M 1M")).stdout).not.toMatch(/fail/);
    await using a = await open();
    await using b = await open();
    for (const [caches, pattern] of [
      [a, "0x22"],
      [b, "0x33"],
    ] as const) {
      await caches.attach(session);
      await qemuIo(caches.drives[0]!.path, `write -P ${pattern} 64M 1M`);
      await caches.detach(session);
    }
    expect((await b.commit())[0]).toMatchObject({ outcome: "committed", generation: 2 });
    expect((await a.commit())[0]).toMatchObject({ outcome: "stale", generation: 2 });
    const v2 = join(store.cacheDir("dl"), "v2.qcow2");
    expect(readdirSync(store.cacheDir("dl"))).toEqual(["v2.qcow2"]);
    expect((await qemuIo(v2, "read -P 0x33 64M 1M")).stdout).not.toMatch(/fail/);
    expect((await execa("qemu-img", ["info", v2])).stdout).not.toMatch(/backing file/);
  });

  it("an unmounted (never attached) or damaged overlay is not committed", async () => {
    const { session } = localSession();
    await using caches = await openCaches(options("/c", { diskSizeBytes: 2 ** 28 }));
    await caches.detach(session); // nothing attached: nothing to bring back
    expect((await caches.commit())[0]?.outcome).toBe("incomplete");
    await using damaged = await openCaches(options("/c", { diskSizeBytes: 2 ** 28 }));
    await damaged.attach(session);
    await damaged.detach(session);
    writeFileSync(damaged.drives[0]!.path, "not a qcow2 any more");
    expect((await damaged.commit())[0]?.outcome).toBe("incomplete");
    expect(existsSync(store.cacheDir("dl"))).toBe(false);
  });
});

describe("cache ls / rm", () => {
  it("refuses to remove a cache in use, removes it otherwise", async () => {
    mkdirSync(join(store.cacheDir("a b"), "v3.tree"), { recursive: true });
    writeFileSync(join(store.cacheDir("a b"), "v3.tree", "f"), "x".repeat(10_000));
    const [info] = await listCaches(store);
    expect(info).toMatchObject({ name: "a b", kind: "tree", generation: 3, inUse: false });
    expect(info?.bytes).toBeGreaterThanOrEqual(10_000);
    expect(statSync(store.cacheDir("a b")).isDirectory()).toBe(true);
    {
      await using _caches = await openCaches({
        ...options("/x"),
        caches: [{ id: "a b", target: "/x" }],
      });
      expect((await listCaches(store))[0]?.inUse).toBe(true);
      await expect(removeCache(store, "a b")).rejects.toBeInstanceOf(CacheInUseError);
    }
    await removeCache(store, "a b");
    expect(await listCaches(store)).toEqual([]);
    await expect(removeCache(store, "a b")).rejects.toBeInstanceOf(CacheNotFoundError);
  });
});
