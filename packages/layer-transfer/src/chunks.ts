/**
 * Uncompressed bytes per disk chunk. 64 MiB keeps four chunks in flight within ~300 MiB of
 * memory, lets a broken pull lose little, and gives zstd enough data per frame; see
 * bench/registry.mjs for the figures at other sizes.
 */
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
/** Largest chunk a pulled manifest may declare (refused above it: memory and disk bounds). */
export const MAX_CHUNK_BYTES = 1024 * 1024 * 1024;

/** One slice of a file. */
export interface ChunkRange {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
}

/** Cuts `size` bytes into consecutive ranges of at most `chunkBytes` (one empty range for an empty file). */
export function planChunks(size: number, chunkBytes = DEFAULT_CHUNK_BYTES): ChunkRange[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad file size ${size}`);
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1)
    throw new RangeError(`bad chunk size ${chunkBytes}`);
  const ranges: ChunkRange[] = [];
  for (let offset = 0, index = 0; offset < size || index === 0; offset += chunkBytes, index++) {
    ranges.push({ index, offset, length: Math.min(chunkBytes, size - offset) });
    if (size === 0) break;
  }
  return ranges;
}
