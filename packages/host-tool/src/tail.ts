/** Most bytes of a console's or a tool's output an error message carries. */
export const MAX_TAIL_BYTES = 4096;

/** Keeps the last `max` bytes of a text, cut at a line start where possible. */
export function boundTail(text: string, max = MAX_TAIL_BYTES): string {
  if (text.length <= max) return text;
  const cut = text.slice(-max);
  const nl = cut.indexOf("\n");
  return nl >= 0 && nl < 200 ? cut.slice(nl + 1) : cut;
}

/** Output cut into lines as it comes, each given to `onLine`; the last `max` lines are kept. */
export interface LineTail {
  write(chunk: Buffer): void;
  /** Ends the last line, if the output did not. */
  end(): void;
  readonly lines: readonly string[];
}

/** A {@link LineTail}; `split` is what ends a line. */
export function createLineTail(
  max: number,
  onLine: (line: string) => void,
  split: RegExp = /\n/,
): LineTail {
  const lines: string[] = [];
  let pending = "";
  const take = (line: string) => {
    lines.push(line);
    if (lines.length > max) lines.shift();
    onLine(line);
  };
  return {
    write(chunk) {
      pending += chunk.toString("utf8");
      const parts = pending.split(split);
      pending = parts.pop() ?? "";
      for (const l of parts) take(l);
    },
    end() {
      if (pending) take(pending);
      pending = "";
    },
    lines,
  };
}
