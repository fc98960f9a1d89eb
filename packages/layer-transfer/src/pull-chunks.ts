import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Descriptor, digestOf, type RegistryClient } from "@strata/registry";
import { MAX_CHUNK_BYTES } from "./chunks.js";
import type { ProgressFn } from "./file-chunks.js";
import { ANNOTATION_LENGTH, ANNOTATION_OFFSET, ANNOTATION_RAW_DIGEST } from "./media-types.js";
import { decompressChunksInto } from "./zstd.js";

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
  /**
   * Downloads by digest, shared between calls (a pull's layers): a blob two chunks name is
   * downloaded once, never by two requests appending to one file.
   */
  readonly started?: Map<string, Promise<string>>;
}

/**
 * Starts downloading every chunk's blob into `downloadDir/<hex>` (resuming what a killed pull
 * left), each verified against its digest by the client, as many at once as the client
 * allows, each blob once (chunks with the same bytes share it). Returns one promise per
 * chunk, for its blob's path; a failure is reported by its promise only (none is left
 * unhandled), so the caller may await them in any order.
 */
export function startDownloads(
  client: RegistryClient,
  repository: string,
  chunks: readonly PlannedChunk[],
  options: PullFileChunksOptions,
): Promise<string>[] {
  const started = options.started ?? new Map<string, Promise<string>>();
  return chunks.map(({ descriptor }) => {
    const already = started.get(descriptor.digest);
    if (already) return already;
    const path = join(options.downloadDir, descriptor.digest.slice("sha256:".length));
    const download = client
      .pullBlob(repository, descriptor.digest, path, {
        size: descriptor.size,
        ...signalOf(options.signal),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      })
      .then(() => path);
    download.catch(() => undefined);
    started.set(descriptor.digest, download);
    return download;
  });
}

/** Downloads every chunk's blob (see {@link startDownloads}); returns the blob paths. */
export async function downloadChunks(
  client: RegistryClient,
  repository: string,
  chunks: readonly PlannedChunk[],
  options: PullFileChunksOptions,
): Promise<string[]> {
  const downloads = startDownloads(client, repository, chunks, options);
  const settled = await Promise.allSettled(downloads);
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return Promise.all(downloads);
}

/**
 * Writes chunks into `target` (created) and fsyncs it: zstd chunks through one `zstd -d` that
 * starts on the first blob while the rest still download (see `decompressChunksInto`), others
 * copied as they arrive. Every blob has been verified against its digest before it is read,
 * and every chunk's uncompressed bytes are checked against the digest and length in its
 * descriptor. Returns a reason when they do not match; the caller discards the target then.
 */
export async function assembleChunks(
  chunks: readonly PlannedChunk[],
  blobs: readonly (string | Promise<string>)[],
  target: string,
  compressed: boolean,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (compressed)
    return (await decompressChunksInto(chunks, blobs, target, signalOf(signal))).problem;
  const file = await open(target, "w", 0o644);
  try {
    for (const [i, chunk] of chunks.entries()) {
      const data = await readFile(await blobs[i]!);
      if (data.length !== chunk.length)
        return `chunk ${i} holds ${data.length} bytes, not ${chunk.length}`;
      if (digestOf(data) !== chunk.rawDigest) return `chunk ${i}'s bytes do not match their digest`;
      await file.write(data, 0, data.length, chunk.offset);
    }
    await file.sync();
    return undefined;
  } finally {
    await file.close();
  }
}

/** Removes downloaded blobs once their content is safely in the store. */
export async function removeDownloads(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true })));
}

function signalOf(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
