/**
 * Turns a step's output bytes into text for the terminal or `--json`, keeping a multi-byte
 * UTF-8 character that a chunk boundary split (an SSH packet, a 64 KiB read of a replayed log)
 * until its last byte comes. Bytes that are not UTF-8 become U+FFFD, as before.
 */
interface OutputText {
  /** The text of `chunk`, less an incomplete character at its end (kept for the next chunk). */
  push(chunk: Uint8Array): string;
  /** What is still held (an incomplete character at the end of a step), as U+FFFD. */
  flush(): string;
}

export function createOutputText(): OutputText {
  let decoder = new TextDecoder("utf-8");
  return {
    push: (chunk) => decoder.decode(chunk, { stream: true }),
    flush: () => {
      const rest = decoder.decode();
      decoder = new TextDecoder("utf-8");
      return rest;
    },
  };
}
