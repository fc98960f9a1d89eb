import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { openStore } from "@strata/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "./main.js";
import { createProgressRenderer, formatBar } from "./render-progress.js";

function capture(cwd: string, isTTY = false) {
  return captureIo(cwd, { isTTY });
}

describe("strata-image", () => {
  let dir = "";
  let store = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-image-cli-"));
    store = join(dir, "store");
    await mkdir(join(store, "base-image"), { recursive: true });
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      join(store, "base-image", "tiny.qcow2"),
      "16M",
    ]);
    await writeFile(
      join(store, "base-image", "tiny.json"),
      JSON.stringify({ name: "tiny", os: "linux", created: "2026-11-22T00:00:00Z" }),
    );
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const run = async (...argv: string[]) => {
    const c = capture(dir);
    const code = await main(argv, c.io);
    return { code, stdout: c.stdout(), stderr: c.stderr() };
  };

  it("usage errors exit 2 with a message naming the problem", async () => {
    expect((await run()).code).toBe(2);
    expect(await run("frobnicate")).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "frobnicate"'),
    });
    expect(await run("build", "gentoo")).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown recipe "gentoo"'),
    });
    expect(await run("build", "debian-bookworm", "--bogus")).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown option "--bogus"'),
    });
    expect(await run("list", "--store=s3:bucket")).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("not supported"),
    });
    expect(await run("customise", "tiny", "new")).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('"--cd" is required'),
    });
  });

  it("checks recipe options before touching the store", async () => {
    const r = await run("build", "windows-server-2022", `--store=qemu:${join(dir, "fresh")}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--iso: required");
    expect(r.stderr).toContain("--virtio-iso: required");
    await expect(readdir(join(dir, "fresh"))).rejects.toThrow();
    expect((await run("build", "debian-bookworm", "--iso=x.iso")).stderr).toContain(
      "only for windows-server-2022",
    );
  });

  it("lists, inspects and removes base images", async () => {
    const list = await run("ls", `--store=qemu:${store}`);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+OS\s+BOOT/);
    expect(list.stdout).toMatch(/tiny\s+linux\s+disk\s+.*2026-11-22/);
    // "list" is an alias; --json is one object per line, as every listing of both apps.
    const lines = (await run("list", "--json", `--store=${store}`)).stdout.trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ name: "tiny", hasManifest: true }),
    ]);
    expect(await run("ls", "-q", `--store=${store}`)).toMatchObject({ code: 0, stdout: "tiny\n" });
    expect(await run("ls", "extra", `--store=${store}`)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('"strata-image ls" takes no arguments, got "extra"'),
    });
    const inspect = await run("inspect", "tiny", `--store=${store}`);
    expect(inspect.stdout).toContain("virtual size:  16.0 MiB");
    expect(inspect.stdout).toContain("tiny.json");
    expect(await run("inspect", "nope", `--store=${store}`)).toMatchObject({
      code: 3,
      stderr: expect.stringContaining('no base image "nope"'),
    });
    expect(await run("rm", "tiny", `--store=${store}`)).toMatchObject({
      code: 0,
      stdout: "removed tiny.qcow2, tiny.json\n",
    });
    expect(await readdir(join(store, "base-image"))).toEqual([]);
  });

  it("refuses to remove an image that cached layers are built on; --force says what it broke", async () => {
    {
      await using s = await openStore({ root: store });
      await s.build("a".repeat(64), { base: "tiny", description: "(from tiny)" }, async () => {});
    }
    const refused = await run("rm", "tiny", `--store=${store}`);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('base image "tiny" is in use');
    expect(refused.stderr).toContain("1 cached layer(s) are built on it (aaaaaaaaaaaa)");
    expect(await readdir(join(store, "base-image"))).toContain("tiny.qcow2");
    const forced = await run("rm", "tiny", "--force", `--store=${store}`);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toBe("removed tiny.qcow2, tiny.json\n");
    expect(forced.stderr).toContain('1 cached layer(s) built on "tiny" can no longer be used');
  });

  it("exports and imports through the command line; a bad archive exits 2", async () => {
    const archive = join(dir, "tiny.tar.zst");
    expect((await run("export", "tiny", archive, `--store=${store}`)).code).toBe(0);
    const other = join(dir, "other");
    expect(await run("import", archive, `--store=${other}`, "--name=copy")).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("copy: "),
    });
    expect((await run("list", `--store=${other}`)).stdout).toContain("copy");
    await writeFile(join(dir, "junk.tar.zst"), "junk");
    expect(await run("import", join(dir, "junk.tar.zst"), `--store=${other}`)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("not a zstd"),
    });
  });

  it("pull holds the store's download/ lease while it runs (clean leaves its blobs), and lets go when stopped", async () => {
    // A registry that accepts and never answers: the pull waits there.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const stop = new AbortController();
    const c = captureIo(dir, { signal: stop.signal });
    const pulling = main(
      ["pull", `127.0.0.1:${port}/images:tiny`, "tiny2", `--store=${store}`],
      c.io,
    );
    try {
      await using db = await openStore({ root: store });
      for (let i = 0; i < 200 && !db.leases().has("downloads"); i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect([...db.leases().keys()]).toEqual(["downloads"]);
      stop.abort();
      expect(await pulling).toBe(130);
      expect(db.leases().size).toBe(0);
    } finally {
      stop.abort();
      silent.close();
      silent.closeAllConnections?.();
    }
  });

  it("renders plain lines off a terminal: stages, a bar line per 10 %, no tool output", () => {
    const c = capture(dir, false);
    const r = createProgressRenderer(c.io);
    r.onProgress({ type: "stage", stage: "convert", message: "converting" });
    for (const p of [1, 5, 12, 14, 55, 100])
      r.onProgress({ type: "percent", stage: "convert", percent: p });
    r.onProgress({ type: "output", stage: "convert", line: "noise" });
    expect(c.stderr().split("\n").filter(Boolean)).toEqual([
      "[convert] converting",
      `[convert] [${".".repeat(30)}]   1%`,
      `[convert] [${"#".repeat(4)}${".".repeat(26)}]  12%`,
      `[convert] [${"#".repeat(17)}${".".repeat(13)}]  55%`,
      `[convert] [${"#".repeat(30)}] 100%`,
    ]);
  });

  it("redraws one status line on a terminal", () => {
    const c = capture(dir, true);
    const r = createProgressRenderer(c.io);
    r.onProgress({ type: "stage", stage: "download", message: "downloading" });
    r.onProgress({ type: "bytes", stage: "download", done: 512, total: 1024 });
    r.onProgress({ type: "output", stage: "download", line: "tool says hi" });
    r.done();
    expect(c.stderr()).toBe(
      `==> downloading\n\r\x1b[K    ${formatBar(512, 1024)}\r\x1b[K    download: tool says hi\r\x1b[K`,
    );
  });

  it("draws a byte bar", () => {
    expect(formatBar(512, 1024)).toBe(`[${"#".repeat(15)}${".".repeat(15)}]  50%  512 B / 1.0 KiB`);
    expect(formatBar(2048, undefined)).toBe("2.0 KiB");
  });
});
