import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  DEFAULT_CONCURRENCY,
  type Descriptor,
  digestOf,
  embedData,
  type RegistryClient,
  Semaphore,
} from "@strata/registry";
import { type ChunkRange, DEFAULT_CHUNK_BYTES, planChunks } from "./chunks.js";
import { hashFileRange } from "./file-range.js";
import {
  ANNOTATION_LENGTH,
  ANNOTATION_OFFSET,
  ANNOTATION_RAW_DIGEST,
  ANNOTATION_TITLE,
  EMBED_MAX_BYTES,
} from "./media-types.js";
import { compressRange } from "./zstd.js";

/** Progress of one transfer, in bytes of the unit the caller chose (raw for push, blob for pull). */
export type ProgressFn = (bytes: number) => void;

/** Options of {@link pushFileChunks}. */
export interface PushFileChunksOptions {
  /** Media type of every chunk descriptor. */
  readonly mediaType: string;
  /** File name for ORAS (`title.000.zst`...). */
  readonly title: string;
  /** Compress with zstd (disk images) or send the bytes as they are (already compressed files). */
  readonly compress: boolean;
  /** @default DEFAULT_CHUNK_BYTES */
  readonly chunkBytes?: number;
  readonly mountFrom?: readonly string[];
  /** Chunks compressed and held in memory at once. @default DEFAULT_CONCURRENCY (4) */
  readonly concurrency?: number;
  /** Permits shared with other pushes running at once (then `concurrency` is not used). */
  readonly slots?: Semaphore;
  readonly signal?: AbortSignal;
  /** Called with uncompressed bytes as each chunk has been pushed. */
  readonly onProgress?: ProgressFn;
}

/**
 * Pushes a file as consecutive chunks, each one blob (zstd-compressed or not), in parallel as
 * far as the client's concurrency allows. Returns the descriptors in file order; each carries
 * its offset, length and the digest of its uncompressed bytes.
 */
export async function pushFileChunks(
  client: RegistryClient,
  repository: string,
  path: string,
  options: PushFileChunksOptions,
): Promise<Descriptor[]> {
  const { size } = await stat(path);
  const ranges = planChunks(size, options.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const width =
    String(Math.max(ranges.length - 1, 0)).length < 3 ? 3 : String(ranges.length).length;
  const slots = options.slots ?? new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY);
  return Promise.all(
    ranges.map(async (range) => {
      using _slot = await slots.acquire(options.signal);
      const blob = options.compress
        ? await compressRange(path, range.offset, range.length, options.signal)
        : await rangeOfFile(path, range, options.signal);
      const { digest, size, rawDigest } = blob;
      await client.pushBlob(repository, blob, {
        ...(options.mountFrom ? { mountFrom: options.mountFrom } : {}),
        ...signalOf(options.signal),
      });
      options.onProgress?.(range.length);
      const suffix = `.${String(range.index).padStart(width, "0")}${options.compress ? ".zst" : ""}`;
      return {
        mediaType: options.mediaType,
        digest,
        size,
        annotations: {
          [ANNOTATION_TITLE]: `${options.title}${suffix}`,
          [ANNOTATION_OFFSET]: String(range.offset),
          [ANNOTATION_LENGTH]: String(range.length),
          [ANNOTATION_RAW_DIGEST]: rawDigest,
        },
      } satisfies Descriptor;
    }),
  );
}

/**
 * An uncompressed range as a blob: hashed first (through reused buffers), then streamed from
 * the file by the upload, so no buffer of the range's size is taken.
 */
async function rangeOfFile(
  path: string,
  range: ChunkRange,
  signal: AbortSignal | undefined,
): Promise<{ digest: string; size: number; rawDigest: string; open: () => Readable }> {
  const file = await open(path, "r");
  let raw: { digest: string; length: number };
  try {
    raw = await hashFileRange(file, range.offset, range.length, signal);
  } finally {
    await file.close();
  }
  if (raw.length !== range.length) throw new Error(`${path} shrank while it was pushed`);
  const end = range.offset + range.length - 1;
  return {
    digest: raw.digest,
    size: range.length,
    rawDigest: raw.digest,
    open: () => createReadStream(path, { start: range.offset, end }),
  };
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/**
 * Pushes a small blob (a config, a log, a JSON file) from memory; returns its descriptor, with
 * the bytes embedded as `data` when at most {@link EMBED_MAX_BYTES} (a pull then needs no
 * request for it) and `title` as its file name. Pushed even when embedded: registries check
 * that a manifest's blobs exist, and other clients (oras, crane) fetch them.
 */
export async function pushSmallBlob(
  client: RegistryClient,
  repository: string,
  data: Buffer,
  mediaType: string,
  title: string | undefined,
  signal: { signal?: AbortSignal },
): Promise<Descriptor> {
  const digest = digestOf(data);
  await client.pushBlob(repository, { data, digest, size: data.length }, signal);
  const plain = {
    mediaType,
    digest,
    size: data.length,
    ...(title ? { annotations: { [ANNOTATION_TITLE]: title } } : {}),
  };
  return data.length <= EMBED_MAX_BYTES ? embedData(plain, data) : plain;
}
