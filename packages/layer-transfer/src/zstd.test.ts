import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { getEventListeners } from "node:events";
import { mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { digestOf } from "@strata/registry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InflateShell } from "./inflate-shell.js";
import { compressRange, decompressChunksInto } from "./zstd.js";

describe("zstd chunks", () => {
  let dir: string;
  let source: string;
  let data: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-zstd-test-"));
    source = join(dir, "source");
    // Half noise, half zeros: both incompressible and compressible ranges.
    data = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(3 << 20)]);
    await writeFile(source, data);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function compressAll(chunk: number) {
    const chunks = [];
    for (let offset = 0; offset < data.length; offset += chunk) {
      const length = Math.min(chunk, data.length - offset);
      const { parts: zst, rawDigest } = await compressRange(source, offset, length);
      const blob = join(dir, `blob-${chunk}-${offset}`);
      await writeFile(blob, zst);
      chunks.push({ offset, length, rawDigest, blob });
    }
    return chunks;
  }

  it("compresses ranges and writes them back whole, blobs arriving in any order", async () => {
    const chunks = await compressAll(2 << 20);
    expect(chunks.map((c) => c.rawDigest)).toEqual(
      chunks.map((c) => digestOf(data.subarray(c.offset, c.offset + c.length))),
    );
    // The last blob arrives first: zstd still writes them in file order.
    const arrivals = chunks.map(
      (c, i) =>
        new Promise<string>((resolve) =>
          setTimeout(() => resolve(c.blob), (chunks.length - i) * 50),
        ),
    );
    const target = join(dir, "whole");
    // The whole file's digest comes from the same pass as the chunks' own.
    expect(await decompressChunksInto(chunks, arrivals, target)).toEqual({
      digest: digestOf(data),
    });
    expect((await readFile(target)).equals(data)).toBe(true);
  });

  it("gives a disk of one chunk its chunk's digest, once that chunk's bytes matched it", async () => {
    const [chunk] = await compressAll(data.length);
    const target = join(dir, "single");
    expect(await decompressChunksInto([chunk!], [chunk!.blob], target)).toEqual({
      digest: digestOf(data),
    });
    const lying = { ...chunk!, rawDigest: digestOf(Buffer.from("other bytes")) };
    expect(await decompressChunksInto([lying], [lying.blob], target)).toEqual({
      problem: "chunk 0's bytes do not match their digest",
    });
  });

  it("leaves no abort listener on the caller's signal however long it waits for blobs", async () => {
    const chunks = await compressAll(2 << 20);
    // The blobs arrive late (once the output file was polled ~50 times, when it was polled).
    const late = new Promise<string[]>((resolve) =>
      setTimeout(() => resolve(chunks.map((c) => c.blob)), 500),
    );
    const signal = new AbortController().signal;
    const target = join(dir, "late");
    const result = await decompressChunksInto(
      chunks,
      chunks.map((_, i) => late.then((blobs) => blobs[i]!)),
      target,
      { signal },
    );
    expect(result.problem).toBeUndefined();
    expect((await readFile(target)).equals(data)).toBe(true);
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });

  it("refuses a chunk whose bytes differ from its digest", async () => {
    const chunks = await compressAll(2 << 20);
    const lying = chunks.map((c, i) => (i === 1 ? { ...c, rawDigest: chunks[0]!.rawDigest } : c));
    const target = join(dir, "lying");
    expect(
      await decompressChunksInto(
        lying,
        lying.map((c) => c.blob),
        target,
      ),
    ).toEqual({ problem: "chunk 1's bytes do not match their digest" });
  });

  it("stops a frame that inflates past the declared size at one byte more", async () => {
    // 16 MiB of zeros compresses to a few KB: declared as a 1 MiB chunk, it is a bomb.
    const bomb = join(dir, "bomb.zst");
    const zeros = join(dir, "zeros");
    await writeFile(zeros, Buffer.alloc(16 << 20));
    await writeFile(bomb, (await compressRange(zeros, 0, 16 << 20)).parts);
    const target = join(dir, "bomb-out");
    const declared = 1 << 20;
    const { problem } = await decompressChunksInto(
      [{ offset: 0, length: declared, rawDigest: digestOf(Buffer.alloc(declared)) }],
      [bomb],
      target,
    );
    expect(problem).toMatch(/more than the 1048576 bytes declared|do not match/);
    expect((await stat(target)).size).toBeLessThanOrEqual(declared + 1);
  });

  it("stops a chunk that inflates into the next chunk's range at one byte past its own end", async () => {
    const chunks = await compressAll(2 << 20);
    // Chunk 0's blob is the 4 MiB frame of chunks 0 and 1 together: it overruns its 2 MiB.
    const double = join(dir, "double.zst");
    await writeFile(double, (await compressRange(source, 0, 4 << 20)).parts);
    const target = join(dir, "overrun");
    const { problem } = await decompressChunksInto(
      chunks,
      chunks.map((c, i) => (i === 0 ? double : c.blob)),
      target,
    );
    expect(problem).toBe(`chunk 0 holds more than its ${2 << 20} bytes`);
    expect((await stat(target)).size).toBeLessThanOrEqual((2 << 20) + 1);
  });

  it("fails with the download's own error when a blob does not arrive", async () => {
    const chunks = await compressAll(3 << 20);
    const failure = new Error("the registry went away");
    const gone = Promise.reject(failure);
    gone.catch(() => undefined); // as startDownloads hands them over: handled, awaited later
    const target = join(dir, "failed");
    await expect(decompressChunksInto(chunks, [chunks[0]!.blob, gone], target)).rejects.toBe(
      failure,
    );
  });

  it("fails on a chunk zstd cannot read, and the same shell inflates the next disk", async () => {
    const chunks = await compressAll(2 << 20);
    const garbage = join(dir, "garbage.zst");
    await writeFile(garbage, randomBytes(4096));
    const shell = new InflateShell();
    try {
      const error = await decompressChunksInto(
        chunks,
        chunks.map((c, i) => (i === 1 ? garbage : c.blob)),
        join(dir, "garbage-out"),
        { shell },
      ).catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe("TRANSFER_ZSTD");
      expect((error as Error).message).toMatch(/zstd could not decompress chunk 1 of .*: .+/);
      const next = join(dir, "after-garbage");
      const result = await decompressChunksInto(
        chunks,
        chunks.map((c) => c.blob),
        next,
        { shell },
      );
      expect(result).toEqual({ digest: digestOf(data) });
      expect((await readFile(next)).equals(data)).toBe(true);
    } finally {
      await shell.close();
    }
  });

  it("kills the shell and its zstd when the signal aborts", async () => {
    // The blob is a FIFO this test holds open and never writes: zstd waits on it for ever.
    const fifo = join(dir, "never.zst");
    await promisify(execFile)("mkfifo", [fifo]);
    const shell = new InflateShell();
    await shell.open("/dev/null");
    const stop = new AbortController();
    const inflating = shell.inflate(fifo, 2 ** 40, stop.signal);
    const writer = await open(fifo, "w"); // returns once the shell's child opened it to read
    try {
      stop.abort(new Error("stopped"));
      const end = await inflating;
      expect(end.signal).toBe("SIGKILL");
      // Nothing of its process group runs any more (a killed zstd may linger as a zombie
      // until init reaps it).
      const running = async () => {
        const { stdout } = await promisify(execFile)("ps", ["-eo", "pgid=,stat="]);
        return stdout
          .split("\n")
          .map((line) => line.trim().split(/\s+/))
          .filter(([group, state]) => Number(group) === shell.pid && !state?.startsWith("Z"))
          .length;
      };
      await expect.poll(running).toBe(0);
      expect((await shell.inflate(fifo, 2 ** 40)).error?.message).toMatch(/shell exited/);
    } finally {
      await writer.close();
    }
  });
});
