const encoder = new TextEncoder();

/**
 * True when an atom must be printed in quotes to read back the same (Sexplib's rule): empty, or
 * holding `"` `(` `)` `;` `\`, a byte at or below 0x20, a byte at or above 0x7F, `#|` or `|#`.
 */
export function mustQuote(atom: string): boolean {
  if (atom.length === 0) return true;
  for (let i = 0; i < atom.length; i++) {
    const c = atom.charCodeAt(i);
    // " ( ) ; \
    if (c <= 0x20 || c >= 0x7f || c === 34 || c === 40 || c === 41 || c === 59 || c === 92)
      return true;
  }
  return atom.includes("#|") || atom.includes("|#");
}

function escapeByte(byte: number): string {
  switch (byte) {
    case 34:
      return '\\"';
    case 92:
      return "\\\\";
    case 10:
      return "\\n";
    case 9:
      return "\\t";
    case 13:
      return "\\r";
    case 8:
      return "\\b";
    default:
      if (byte >= 0x20 && byte < 0x7f) return String.fromCharCode(byte);
      return `\\${String(byte).padStart(3, "0")}`;
  }
}

/** Prints an atom as OBuilder does: bare when safe, else quoted with OCaml's escapes on UTF-8 bytes. */
export function printAtom(atom: string): string {
  if (!mustQuote(atom)) return atom;
  let out = '"';
  if (/^[\x00-\x7f]*$/.test(atom)) {
    // ASCII: characters are bytes, no need to encode.
    for (let i = 0; i < atom.length; i++) out += escapeByte(atom.charCodeAt(i));
  } else {
    for (const byte of encoder.encode(atom)) out += escapeByte(byte);
  }
  return `${out}"`;
}

/** A tree to print: an atom (printed with {@link printAtom}) or a list. */
export type SexpTree = string | readonly SexpTree[];

/** Prints a tree on one line, items separated by single spaces. */
export function printOneLine(tree: SexpTree): string {
  if (typeof tree === "string") return printAtom(tree);
  return `(${tree.map(printOneLine).join(" ")})`;
}
