import { ShellQuoteError } from "./errors.js";

// PowerShell ends a verbatim string at ' and also at the typographic single quotes
// U+2018-U+201B; each is escaped by doubling it.
const PS_QUOTES = /['\u2018\u2019\u201a\u201b]/g;

/** Quotes a string as a PowerShell verbatim (single-quoted) string: nothing inside expands. */
export function quotePowerShell(text: string): string {
  if (text.includes("\0")) throw new ShellQuoteError("powershell", text, "it contains a NUL byte");
  return `'${text.replace(PS_QUOTES, "$&$&")}'`;
}
