/** The last `maxBytes` of a stream of text: what an error shows of a tool's or a guest's output. */
export interface TailBuffer {
  push(text: string): void;
  /** What is kept; when more came, it starts with `[...]` and a whole line. */
  text(): string;
}

/** A {@link TailBuffer} that never holds more than about twice `maxBytes`. */
export function createTailBuffer(maxBytes: number): TailBuffer {
  let kept = "";
  let cut = false;
  return {
    push(text) {
      kept += text;
      if (Buffer.byteLength(kept) > 2 * maxBytes) {
        kept = lastBytes(kept, maxBytes);
        cut = true;
      }
    },
    text() {
      if (!cut && Buffer.byteLength(kept) <= maxBytes) return kept;
      const last = lastBytes(kept, maxBytes);
      const newline = last.indexOf("\n");
      return `[...]\n${newline >= 0 && newline < last.length - 1 ? last.slice(newline + 1) : last}`;
    },
  };
}

function lastBytes(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  // Drops a character cut in half at the start (U+FFFD) rather than show a broken one.
  return bytes
    .subarray(bytes.length - maxBytes)
    .toString("utf8")
    .replace(/^\uFFFD+/, "");
}

/** Splits text that arrives in chunks into lines; `\r`, `\n` and `\r\n` each end one. */
export function createLineSplitter(onLine: (line: string) => void): {
  push(text: string): void;
  end(): void;
} {
  let pending = "";
  return {
    push(text) {
      pending += text;
      const lines = pending.split(/\r\n|\r|\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) if (line) onLine(line);
    },
    end() {
      if (pending) onLine(pending);
      pending = "";
    },
  };
}
