import { spawn } from "node:child_process";
import { once } from "node:events";
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { sleep } from "@strata/registry";
import { TransferError } from "./errors.js";
import { hashFileRange, READ_BUFFER_BYTES } from "./file-range.js";
import { type ProcessEnd, processEnded, runPiped } from "./piped-processes.js";

/**
 * zstd level for disk chunks. Level 1 compresses about 1.6x faster than level 3 (zstd's
 * default) for ~9% more bytes on the Debian base image: compression is the push's bottleneck.
 */
export const ZSTD_LEVEL = 1;

/** Block size of the `dd` that cuts a file range or places decompressed bytes. */
const DD_BLOCK = "4M";

/**
 * Compresses `length` bytes of `path` from `offset` with the `zstd` program (single-threaded,
 * so the output depends only on the input and level; chunks run in parallel instead). `dd`
 * feeds zstd the range through a kernel pipe while this process hashes the same range from
 * the page cache, so the raw bytes never cross a pipe into Node.
 */
export async function compressRange(
  path: string,
  offset: number,
  length: number,
  signal?: AbortSignal,
): Promise<{ data: Buffer; rawDigest: string }> {
  const source = [
    "dd",
    `if=${path}`,
    `bs=${DD_BLOCK}`,
    `skip=${offset}`,
    `count=${length}`,
    "iflag=skip_bytes,count_bytes,fullblock",
    "status=none",
  ] as const;
  const zstd = ["zstd", "-q", "-c", `-${ZSTD_LEVEL}`, "--no-check"] as const;
  const file = await open(path, "r");
  try {
    const [piped, raw] = await Promise.all([
      runPiped(source, zstd, { collect: true, ...(signal ? { signal } : {}) }),
      hashFileRange(file, offset, length, signal),
    ]);
    if (signal?.aborted) throw signal.reason;
    failIfBad(piped.first, `dd could not read ${path}`);
    failIfBad(piped.second, `zstd failed compressing ${path}`);
    if (raw.length !== length) {
      throw new TransferError(
        "TRANSFER_ZSTD",
        `${path} shrank while it was compressed; push again once nothing writes to it`,
      );
    }
    return { data: piped.stdout, rawDigest: raw.digest };
  } finally {
    await file.close();
  }
}

/** One chunk of {@link decompressChunksInto}: where its bytes go and what they must hash to. */
export interface ChunkTarget {
  readonly offset: number;
  readonly length: number;
  readonly rawDigest: string;
}

/** How often the output file's size is looked at to hash chunks as zstd finishes them. */
const POLL_MS = 10;

/**
 * Decompresses consecutive chunk blobs (zstd frames; `blobs[i]` may still be downloading,
 * each verified before it is read) into `target`, one `zstd -d` for them all writing straight
 * into the file, fed in order through its stdin, while this process hashes each chunk's range
 * back from the page cache as soon as zstd has written past it: zstd on one core, the hashing
 * and the downloads on the other. The kernel caps the file at the declared size plus one byte
 * (`prlimit --fsize`), so a frame that inflates past its declaration costs nothing. Returns a
 * reason when the bytes do not match the chunks (the caller discards the target).
 */
export async function decompressChunksInto(
  chunks: readonly ChunkTarget[],
  blobs: readonly (string | Promise<string>)[],
  target: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const size = chunks.reduce((sum, c) => sum + c.length, 0);
  const file = await open(target, "w+", 0o644);
  try {
    const child = spawn("prlimit", [`--fsize=${size + 1}`, "zstd", "-q", "-d", "-c"], {
      stdio: ["pipe", file.fd, "pipe"],
      env: { ...process.env, LC_ALL: "C" },
      ...(signal ? { signal } : {}),
    });
    const exit = processEnded(child);
    let done = false;
    void exit.then(() => {
      done = true;
    });
    const feeding = feed(child.stdin!, blobs).then(
      () => undefined,
      (error: unknown) => {
        child.kill();
        return error;
      },
    );
    let problem: string | undefined;
    for (const [i, chunk] of chunks.entries()) {
      const end = chunk.offset + chunk.length;
      while (!done && (await file.stat()).size < end) await sleep(POLL_MS, signal);
      const raw = await hashFileRange(file, chunk.offset, chunk.length, signal);
      if (raw.length !== chunk.length || raw.digest !== chunk.rawDigest) {
        problem = `chunk ${i}'s bytes do not match their digest`;
        child.kill();
        break;
      }
    }
    const [ending, fed] = await Promise.all([exit, feeding]);
    if (signal?.aborted) throw signal.reason;
    // A blob that failed to download (or its digest) fails the pull with its own error.
    if (fed instanceof DownloadFailed) throw fed.cause;
    const written = (await file.stat()).size;
    if (ending.signal === "SIGXFSZ" || written > size)
      return `the chunks hold more than the ${size} bytes declared`;
    if (problem) return problem;
    failIfBad(ending, `zstd could not decompress the chunks of ${target}`);
    if (written !== size) return `the chunks hold ${written} bytes, not the ${size} declared`;
    await file.sync();
    return undefined;
  } finally {
    await file.close();
  }
}

/** Writes every blob, in order, to `stdin` in large pieces (waiting for it to drain), then ends it. */
async function feed(stdin: Writable, blobs: readonly (string | Promise<string>)[]): Promise<void> {
  const broken = new Promise<never>((_, reject) => stdin.once("error", reject));
  broken.catch(() => undefined);
  for (const blob of blobs) {
    let path: string;
    try {
      path = await blob;
    } catch (cause) {
      throw new DownloadFailed(cause);
    }
    const file = await open(path, "r");
    try {
      for (;;) {
        const piece = Buffer.allocUnsafe(READ_BUFFER_BYTES);
        const { bytesRead } = await file.read(piece, 0, piece.length, null);
        if (bytesRead === 0) break;
        if (!stdin.write(piece.subarray(0, bytesRead)))
          await Promise.race([once(stdin, "drain"), broken]);
      }
    } finally {
      await file.close();
    }
  }
  stdin.end();
  await Promise.race([finished(stdin), broken]);
}

/** A blob of {@link decompressChunksInto} did not arrive: its own error is what the caller sees. */
class DownloadFailed {
  constructor(readonly cause: unknown) {}
}

function failIfBad(end: ProcessEnd, what: string): void {
  if (end.code === 0) return;
  const why =
    end.error?.message ??
    (end.stderr.trim() || (end.signal ? `killed by ${end.signal}` : `exit code ${end.code}`));
  throw new TransferError(
    "TRANSFER_ZSTD",
    `${what}: ${why}`,
    end.error ? { cause: end.error } : {},
  );
}
