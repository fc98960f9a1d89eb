import { InvalidCacheNameError } from "./errors.js";

// Only these bytes stay as they are. Upper-case letters are escaped too, so that two names never
// map to directories that a case-insensitive filesystem (macOS, Windows) would treat as one.
const KEPT = /^[a-z0-9_-]$/;
const MAX_ESCAPED_LENGTH = 255;

/**
 * Turns a cache name into a directory name, injectively: every byte (of the UTF-8 encoding)
 * outside `[a-z0-9_-]` becomes `%XX` with exactly two upper-case hex digits (zero-padded, so
 * `\n` is `%0A`, never `%A`), and `%` itself is escaped, so distinct names never collide and the
 * result never contains `.` or `/`.
 */
export function escapeCacheName(name: string): string {
  if (name.length === 0) throw new InvalidCacheNameError(name, "it is empty");
  let out = "";
  for (const char of name) {
    if (KEPT.test(char)) {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, "utf8")) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  if (out.length > MAX_ESCAPED_LENGTH) {
    throw new InvalidCacheNameError(
      name,
      `escaped, it is ${out.length} characters long, more than a file name may be (${MAX_ESCAPED_LENGTH})`,
    );
  }
  return out;
}

/** Inverse of {@link escapeCacheName}; throws on a string that escaping cannot produce. */
export function unescapeCacheName(escaped: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length; ) {
    const char = escaped[i]!;
    if (char === "%") {
      const hex = escaped.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) {
        throw new InvalidCacheNameError(escaped, `bad escape at offset ${i}`);
      }
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else if (KEPT.test(char)) {
      bytes.push(char.charCodeAt(0));
      i += 1;
    } else {
      throw new InvalidCacheNameError(escaped, `unescaped character ${JSON.stringify(char)}`);
    }
  }
  const name = Buffer.from(bytes).toString("utf8");
  if (escapeCacheName(name) !== escaped) {
    throw new InvalidCacheNameError(escaped, "not produced by escapeCacheName");
  }
  return name;
}
