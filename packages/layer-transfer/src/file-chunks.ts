import { type FileHandle, open, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  DEFAULT_CONCURRENCY,
  type Descriptor,
  digestOf,
  type RegistryClient,
  Semaphore,
} from "@strata/registry";
import { type ChunkRange, DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, planChunks } from "./chunks.js";
import {
  ANNOTATION_LENGTH,
  ANNOTATION_OFFSET,
  ANNOTATION_RAW_DIGEST,
  ANNOTATION_TITLE,
} from "./media-types.js";
import { compressRange, decompressInto } from "./zstd.js";

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
  const slots = new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY);
  return Promise.all(
    ranges.map(async (range) => {
      using _slot = await slots.acquire(options.signal);
      const { data, rawDigest } = options.compress
        ? await compressRange(path, range.offset, range.length, options.signal)
        : await readRange(path, range);
      const digest = digestOf(data);
      await client.pushBlob(
        repository,
        { data, digest, size: data.length },
        {
          ...(options.mountFrom ? { mountFrom: options.mountFrom } : {}),
          ...signalOf(options.signal),
        },
      );
      options.onProgress?.(range.length);
      const suffix = `.${String(range.index).padStart(width, "0")}${options.compress ? ".zst" : ""}`;
      return {
        mediaType: options.mediaType,
        digest,
        size: data.length,
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

async function readRange(
  path: string,
  range: ChunkRange,
): Promise<{ data: Buffer; rawDigest: string }> {
  const file = await open(path, "r");
  try {
    const data = Buffer.alloc(range.length);
    const { bytesRead } = await file.read(data, 0, range.length, range.offset);
    if (bytesRead !== range.length) throw new Error(`${path} shrank while it was pushed`);
    return { data, rawDigest: digestOf(data) };
  } finally {
    await file.close();
  }
}

/** A chunk descriptor checked to be well formed and in place. */
export interface PlannedChunk {
  readonly descriptor: Descriptor;
  readonly offset: number;
  readonly length: number;
  readonly rawDigest: string;
}

/**
 * Checks chunk descriptors read from a pulled manifest: the expected media type, offsets that
 * tile the file from 0 without gaps or overlaps, lengths within bounds summing to `size`.
 * Returns a reason when they do not.
 */
export function checkChunks(
  descriptors: readonly Descriptor[],
  mediaType: string,
  size: number,
): PlannedChunk[] | string {
  const planned: PlannedChunk[] = [];
  let next = 0;
  for (const [i, d] of descriptors.entries()) {
    if (d.mediaType !== mediaType)
      return `chunk ${i} has media type ${JSON.stringify(d.mediaType)}`;
    const offset = Number(d.annotations?.[ANNOTATION_OFFSET]);
    const length = Number(d.annotations?.[ANNOTATION_LENGTH]);
    const rawDigest = d.annotations?.[ANNOTATION_RAW_DIGEST] ?? "";
    if (!Number.isSafeInteger(offset) || offset !== next)
      return `chunk ${i} does not start where chunk ${i - 1} ends`;
    if (!Number.isSafeInteger(length) || length < 0 || length > MAX_CHUNK_BYTES)
      return `chunk ${i} has a bad length`;
    if (!/^sha256:[a-f0-9]{64}$/.test(rawDigest)) return `chunk ${i} has no sha256 of its bytes`;
    if (d.size > MAX_CHUNK_BYTES + 1024 * 1024) return `chunk ${i} is too large`;
    planned.push({ descriptor: d, offset, length, rawDigest });
    next = offset + length;
  }
  if (next !== size) return `the chunks hold ${next} bytes, not the ${size} the config declares`;
  if (planned.length === 0) return "there are no chunks";
  return planned;
}

/** Options of {@link pullFileChunks}. */
export interface PullFileChunksOptions {
  /** Where blobs are downloaded first (kept across runs so a killed pull resumes). */
  readonly downloadDir: string;
  readonly compressed: boolean;
  readonly signal?: AbortSignal;
  /** Called with blob bytes as they arrive. */
  readonly onProgress?: ProgressFn;
}

/**
 * Downloads every chunk's blob into `downloadDir/<hex>` (resuming what a killed pull left),
 * each verified by the client; returns the blob paths. Nothing is written to the target yet.
 */
export async function downloadChunks(
  client: RegistryClient,
  repository: string,
  chunks: readonly PlannedChunk[],
  options: PullFileChunksOptions,
): Promise<string[]> {
  return Promise.all(
    chunks.map(async ({ descriptor }) => {
      const path = join(options.downloadDir, descriptor.digest.slice("sha256:".length));
      await client.pullBlob(repository, descriptor.digest, path, {
        size: descriptor.size,
        ...signalOf(options.signal),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      return path;
    }),
  );
}

/**
 * Writes downloaded chunks into `target` (created), each decompressed at its offset and
 * checked against the digest and length of its uncompressed bytes. Returns a reason on the
 * first chunk that does not match; the caller discards the target then.
 */
export async function assembleChunks(
  chunks: readonly PlannedChunk[],
  blobs: readonly string[],
  target: string,
  compressed: boolean,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const file = await open(target, "w", 0o644);
  try {
    for (const [i, chunk] of chunks.entries()) {
      const blob = blobs[i]!;
      const out = compressed
        ? await decompressInto(blob, file, chunk.offset, chunk.length, signal)
        : await copyInto(blob, file, chunk.offset);
      if (out.length !== chunk.length)
        return `chunk ${i} holds ${out.length} bytes, not ${chunk.length}`;
      if (out.rawDigest !== chunk.rawDigest) return `chunk ${i}'s bytes do not match their digest`;
    }
    await file.sync();
    return undefined;
  } finally {
    await file.close();
  }
}

async function copyInto(
  blob: string,
  target: FileHandle,
  offset: number,
): Promise<{ rawDigest: string; length: number }> {
  const data = await readFile(blob);
  await target.write(data, 0, data.length, offset);
  return { rawDigest: digestOf(data), length: data.length };
}

/** Removes downloaded blobs once their content is safely in the store. */
export async function removeDownloads(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
