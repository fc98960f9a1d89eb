// Byte helpers for quoted atoms: escapes produce bytes, read back as UTF-8.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const SIMPLE_ESCAPES: Record<string, number> = {
  "\\": 92,
  '"': 34,
  "'": 39,
  n: 10,
  t: 9,
  b: 8,
  r: 13,
  " ": 32,
};

export function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

export function pushText(bytes: number[], text: string): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) {
      for (const b of encoder.encode(text.slice(i))) bytes.push(b);
      return;
    }
    bytes.push(c);
  }
}

/** The bytes as UTF-8 text; invalid sequences become U+FFFD. */
export function decodeBytes(bytes: readonly number[]): string {
  return decoder.decode(Uint8Array.from(bytes));
}
