import { open } from "node:fs/promises";
import { runHostTool } from "@strata/host-tool";

/** One extent of a qcow2 overlay's own data, as `qemu-img map --output=json` reports it. */
interface MappedExtent {
  start: number;
  length: number;
  depth: number;
  data: boolean;
  offset?: number;
}

/**
 * Ranges of `image`'s own file holding the overlay's data, in guest order, with `joined` true
 * when a range continues the previous one in the guest (a value may span the two). Only depth-0
 * data extents count: what the parent holds was checked when the parent was made.
 */
export function overlayDataRanges(
  extents: readonly MappedExtent[],
): { offset: number; length: number; joined: boolean }[] {
  const own = extents
    .filter((e) => e.depth === 0 && e.data && e.offset !== undefined)
    .sort((a, b) => a.start - b.start);
  return own.map((e, i) => {
    const prev = own[i - 1];
    return {
      offset: e.offset!,
      length: e.length,
      joined: prev !== undefined && prev.start + prev.length === e.start,
    };
  });
}

/** Finds needles in a byte stream fed in pieces, across piece boundaries. */
export class NeedleSearch {
  readonly #needles: readonly Buffer[];
  readonly #keep: number;
  #tail = Buffer.alloc(0);

  constructor(needles: readonly Buffer[]) {
    this.#needles = needles.filter((n) => n.length > 0);
    this.#keep = Math.max(0, ...this.#needles.map((n) => n.length)) - 1;
  }

  /** The index (into the needles) of one found in `piece` or across its start, else -1. */
  feed(piece: Buffer): number {
    const data = this.#tail.length ? Buffer.concat([this.#tail, piece]) : piece;
    const found = this.#needles.findIndex((n) => data.includes(n));
    this.#tail = Buffer.from(data.subarray(Math.max(0, data.length - this.#keep)));
    return found;
  }

  /** Forget the bytes seen so far (the next piece does not continue them). */
  reset(): void {
    this.#tail = Buffer.alloc(0);
  }
}

const READ_BYTES = 4 << 20;

/** Reads `ranges` of `file` through `search`; resolves the index of the first needle found, or -1. */
export async function searchFileRanges(
  file: string,
  ranges: readonly { offset: number; length: number; joined?: boolean }[],
  search: NeedleSearch,
): Promise<number> {
  await using handle = await open(file, "r");
  const buffer = Buffer.alloc(READ_BYTES);
  for (const r of ranges) {
    if (!r.joined) search.reset();
    for (let done = 0; done < r.length; ) {
      const want = Math.min(READ_BYTES, r.length - done);
      const { bytesRead } = await handle.read(buffer, 0, want, r.offset + done);
      if (bytesRead === 0) break;
      const hit = search.feed(buffer.subarray(0, bytesRead));
      if (hit >= 0) return hit;
      done += bytesRead;
    }
  }
  return -1;
}

/**
 * Searches the data a qcow2 overlay adds over its parent (guest writes are stored uncompressed)
 * for any of `needles`, following the guest's byte order so that a value written across two
 * clusters is found too. Resolves the index of a needle found, or -1.
 */
export async function searchOverlay(image: string, needles: readonly Buffer[]): Promise<number> {
  if (needles.length === 0) return -1;
  const stdout = await runHostTool("qemu-img", ["map", "--output=json", "-f", "qcow2", image]);
  const ranges = overlayDataRanges(JSON.parse(stdout) as MappedExtent[]);
  return searchFileRanges(image, ranges, new NeedleSearch(needles));
}
