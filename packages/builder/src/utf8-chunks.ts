/**
 * How many bytes at the end of `chunk` are the start of a UTF-8 character whose remaining
 * bytes have not come yet (0-3). Pure. Bytes that cannot start such a character count as whole,
 * so output that is not UTF-8 is never held back.
 */
export function incompleteUtf8Tail(chunk: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const b = chunk[chunk.length - back] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const need = b >= 0xf5 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/**
 * Passes one stream's chunks on, each ending on a whole UTF-8 character: an incomplete one at
 * the end of a chunk waits (at most 3 bytes) for the next chunk of the same stream. A step's
 * stdout and stderr share one log, so without this a stderr chunk landing between the bytes of a
 * stdout character would break it for good, in the live output, the log and every replay.
 */
export function createUtf8Chunker(emit: (chunk: Buffer) => void): {
  write(chunk: Buffer): void;
  end(): void;
} {
  let held = Buffer.alloc(0);
  return {
    write(chunk) {
      const all = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
      const keep = incompleteUtf8Tail(all);
      held = Buffer.from(all.subarray(all.length - keep));
      if (all.length > keep) emit(all.subarray(0, all.length - keep));
    },
    end() {
      if (held.length > 0) emit(held);
      held = Buffer.alloc(0);
    },
  };
}
