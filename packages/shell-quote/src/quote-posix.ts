import { ShellQuoteError } from "./errors.js";

const SAFE_POSIX = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one word for a POSIX shell (sh, dash, bash, ksh): safe words stay bare, anything else
 * goes in single quotes, inside which no character is special; a `'` becomes `'\''`. Refuses NUL,
 * which no shell word can hold.
 */
export function quotePosix(word: string): string {
  if (word.includes("\0")) throw new ShellQuoteError("posix", word, "it contains a NUL byte");
  if (word !== "" && SAFE_POSIX.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Joins an argv into one POSIX shell command line. */
export function quotePosixArgv(argv: readonly string[]): string {
  return argv.map(quotePosix).join(" ");
}
