import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NeedleSearch, overlayDataRanges, searchFileRanges, searchOverlay } from "./secret-scan.js";

describe("NeedleSearch", () => {
  it("finds a needle split across pieces and forgets after reset", () => {
    const s = new NeedleSearch([Buffer.from("needle-1")]);
    expect(s.feed(Buffer.from("xxneed"))).toBe(-1);
    expect(s.feed(Buffer.from("le-1yy"))).toBe(0);
    s.reset();
    expect(s.feed(Buffer.from("le-1"))).toBe(-1);
  });
});

describe("overlayDataRanges", () => {
  it("keeps the overlay's own data in guest order and marks guest-contiguous ranges", () => {
    const ranges = overlayDataRanges([
      { start: 65536, length: 65536, depth: 0, data: true, offset: 196608 },
      { start: 0, length: 65536, depth: 0, data: true, offset: 327680 },
      { start: 131072, length: 65536, depth: 1, data: true, offset: 0 },
      { start: 196608, length: 65536, depth: 0, data: false },
      { start: 262144, length: 65536, depth: 0, data: true, offset: 262144 },
    ]);
    expect(ranges).toEqual([
      { offset: 327680, length: 65536, joined: false },
      { offset: 196608, length: 65536, joined: true },
      { offset: 262144, length: 65536, joined: false },
    ]);
  });
});

describe("searchOverlay (real qemu-img)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-scan-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("finds a value the guest wrote across two clusters, and nothing in a clean overlay", async () => {
    const base = join(dir, "base.qcow2");
    const top = join(dir, "top.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", base, "4M"]);
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, top]);
    const needle = Buffer.from("s3cr3t-value-for-the-scan");
    expect(await searchOverlay(top, [needle])).toBe(-1);
    // The value starts 10 bytes before a cluster boundary; the second cluster is allocated
    // first, so the file holds the two clusters in the opposite order to the guest's.
    await execa("qemu-io", ["-f", "qcow2", "-c", "write -P 0x41 65536 4096", top]);
    const payload = join(dir, "payload");
    await writeFile(payload, needle.subarray(10));
    const head = join(dir, "head");
    await writeFile(head, needle.subarray(0, 10));
    await execa("qemu-io", [
      "-f",
      "qcow2",
      "-c",
      `write -s ${payload} 65536 ${needle.length - 10}`,
      "-c",
      `write -s ${head} ${65536 - 10} 10`,
      top,
    ]);
    expect(await searchOverlay(top, [Buffer.from("absent-value"), needle])).toBe(1);
    expect(await searchOverlay(base, [needle])).toBe(-1);
  });

  it("reads plain file ranges", async () => {
    const f = join(dir, "plain");
    await writeFile(f, Buffer.from("0123456789abcdef"));
    const s = () => new NeedleSearch([Buffer.from("89ab")]);
    expect(await searchFileRanges(f, [{ offset: 0, length: 16 }], s())).toBe(0);
    expect(await searchFileRanges(f, [{ offset: 0, length: 10 }], s())).toBe(-1);
  });
});
