import { open } from "node:fs/promises";
import { createDigester } from "@strata/registry";
import { TransferError } from "./errors.js";
import { hashFileRange } from "./file-range.js";
import { InflateShell } from "./inflate-shell.js";
import { type ProcessEnd, runPiped } from "./piped-processes.js";

/**
 * zstd level for disk chunks. Level 1 compresses about 1.6x faster than level 3 (zstd's
 * default) for ~9% more bytes on the Debian base image: compression is the push's bottleneck.
 */
export const ZSTD_LEVEL = 1;

/** Block size of the `dd` that cuts a file range or places decompressed bytes. */
const DD_BLOCK = "4M";

/** A compressed range: its zstd bytes in the pieces they were read in, their size and sha256. */
export interface CompressedRange {
  readonly parts: Buffer[];
  readonly size: number;
  readonly digest: string;
  /** sha256 of the uncompressed range. */
  readonly rawDigest: string;
}

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
): Promise<CompressedRange> {
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
    const digester = createDigester();
    for (const part of piped.stdout) digester.update(part);
    const size = piped.stdout.reduce((sum, part) => sum + part.length, 0);
    return { parts: piped.stdout, size, digest: digester.digest(), rawDigest: raw.digest };
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

/** What {@link decompressChunksInto} found: why the bytes are wrong, or the whole file's sha256. */
export type Decompressed =
  | { readonly problem: string; readonly digest?: undefined }
  | { readonly problem?: undefined; readonly digest: string };

/** Options of {@link decompressChunksInto}. */
export interface DecompressOptions {
  readonly signal?: AbortSignal;
  /** fsync the target. False when the caller syncs it itself (outside a CPU-bound slot). @default true */
  readonly sync?: boolean;
  /** The shell that starts the zstd processes (one is started for this call without it). */
  readonly shell?: InflateShell;
}

/**
 * Decompresses consecutive chunk blobs (zstd frames; `blobs[i]` may still be downloading,
 * each verified before it is read) into `target`: one `zstd -d` per chunk, started by a small
 * shell ({@link InflateShell}), reading its blob file and writing straight into the target
 * (the bytes never pass through this process), the chunks one after the other through the
 * shell's one file position, while this process hashes each finished chunk's range back from
 * the page cache beside the next chunk's zstd (in file order, so the same pass gives the whole
 * file's digest). Each zstd runs under `prlimit --fsize=<end of its chunk + 1>`, so a frame
 * that inflates past its declaration is stopped by the kernel at one byte more. Returns a
 * problem when the bytes do not match the chunks (the caller discards the target).
 */
export async function decompressChunksInto(
  chunks: readonly ChunkTarget[],
  blobs: readonly (string | Promise<string>)[],
  target: string,
  options: DecompressOptions = {},
): Promise<Decompressed> {
  const { signal, sync = true } = options;
  const size = chunks.reduce((sum, c) => sum + c.length, 0);
  const file = await open(target, "w+", 0o644);
  const own = options.shell ? undefined : new InflateShell();
  const shell = options.shell ?? own!;
  // The whole file's digest: a disk of one chunk has its chunk's (checked below), so the one
  // pass over its bytes is enough.
  const whole = chunks.length > 1 ? createDigester() : undefined;
  // The chunks' hashes, one after the other (each waits for the one before it).
  let hashed: Promise<string | undefined> = Promise.resolve(undefined);
  const bad = async (problem: string): Promise<Decompressed> => {
    await hashed.catch(() => undefined);
    return { problem };
  };
  try {
    await shell.open(target);
    for (const [i, chunk] of chunks.entries()) {
      const end = chunk.offset + chunk.length;
      let path: string;
      try {
        path = await blobs[i]!;
      } catch (cause) {
        // A blob that failed to download (or its digest) fails the pull with its own error.
        await hashed.catch(() => undefined);
        throw cause;
      }
      signal?.throwIfAborted();
      const ending = await shell.inflate(path, end + 1, signal);
      if (signal?.aborted) throw signal.reason;
      const written = (await file.stat()).size;
      if (ending.signal === "SIGXFSZ" || written > end) {
        return bad(
          i === chunks.length - 1
            ? `the chunks hold more than the ${size} bytes declared`
            : `chunk ${i} holds more than its ${chunk.length} bytes`,
        );
      }
      failIfBad(ending, `zstd could not decompress chunk ${i} of ${target}`);
      if (written !== end)
        return bad(`chunk ${i} holds ${written - chunk.offset} bytes, not ${chunk.length}`);
      hashed = hashed.then(async (problem) => {
        if (problem) return problem;
        const raw = await hashFileRange(file, chunk.offset, chunk.length, signal, whole);
        return raw.length !== chunk.length || raw.digest !== chunk.rawDigest
          ? `chunk ${i}'s bytes do not match their digest`
          : undefined;
      });
      hashed.catch(() => undefined);
    }
    const problem = await hashed;
    if (problem) return { problem };
    if (sync) await file.sync();
    return { digest: whole?.digest() ?? chunks[0]!.rawDigest };
  } finally {
    await own?.close();
    await hashed.catch(() => undefined);
    await file.close();
  }
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
