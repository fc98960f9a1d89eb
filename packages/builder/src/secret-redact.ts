/** What replaces a secret's value in a step's output. */
export const SECRET_MASK = Buffer.from("***");

/**
 * Secret values shorter than this are neither masked in output nor searched for in layers: a
 * value of a few bytes turns up by chance (and masking it would garble every log).
 * @default 6
 */
export const MIN_GUARDED_SECRET_BYTES = 6;

/**
 * The byte strings to keep out of logs and layers for these secret values: each value, and the
 * value without trailing white space (a secret file's final newline is rarely part of its use),
 * when at least {@link MIN_GUARDED_SECRET_BYTES} long.
 */
export function guardedValues(values: Iterable<Buffer>): Buffer[] {
  const out = new Map<string, Buffer>();
  for (const v of values) {
    const trimmed = Buffer.from(v.toString("latin1").replace(/[\s]+$/, ""), "latin1");
    for (const b of [v, trimmed])
      if (b.length >= MIN_GUARDED_SECRET_BYTES) out.set(b.toString("hex"), b);
  }
  return [...out.values()];
}

/** A stream filter that replaces secret values, also when one is split across chunks. */
export interface Redactor {
  /** The bytes of `chunk` (and of earlier held-back bytes) that are safe to pass on now. */
  push(chunk: Buffer): Buffer;
  /** Whatever was held back, at the end of the stream. */
  flush(): Buffer;
}

/**
 * Masks every occurrence of `values` (see {@link guardedValues}) in a byte stream with
 * {@link SECRET_MASK}. It holds back at most the longest value's length minus one byte: only a
 * chunk's tail that could still become a secret waits for the next chunk.
 */
export function createRedactor(values: readonly Buffer[]): Redactor {
  const needles = values.filter((v) => v.length > 0);
  const longest = Math.max(0, ...needles.map((v) => v.length));
  let pending = Buffer.alloc(0);
  return {
    push(chunk) {
      if (needles.length === 0) return chunk;
      const data = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      const out: Buffer[] = [];
      let pos = 0;
      for (;;) {
        let at = -1;
        let len = 0;
        for (const v of needles) {
          const i = data.indexOf(v, pos);
          if (i >= 0 && (at < 0 || i < at || (i === at && v.length > len))) {
            at = i;
            len = v.length;
          }
        }
        if (at < 0) break;
        out.push(data.subarray(pos, at), SECRET_MASK);
        pos = at + len;
      }
      const hold = heldTail(data, pos, needles, longest);
      out.push(data.subarray(pos, data.length - hold));
      pending = Buffer.from(data.subarray(data.length - hold));
      return Buffer.concat(out);
    },
    flush() {
      const rest = pending;
      pending = Buffer.alloc(0);
      return rest;
    },
  };
}

/** Length of the longest tail of `data[from..]` that is a proper prefix of some needle. */
function heldTail(data: Buffer, from: number, needles: readonly Buffer[], longest: number): number {
  for (let k = Math.min(longest - 1, data.length - from); k > 0; k--) {
    const tail = data.subarray(data.length - k);
    if (needles.some((v) => v.length > k && v.subarray(0, k).equals(tail))) return k;
  }
  return 0;
}
