import { DEFAULT_SPEC_FILE } from "./problem.js";
import type { ReadResult, SexpAtom, SexpList, SexpNode } from "./sexp.js";
import { decodeBytes, isDigit, pushText, SIMPLE_ESCAPES } from "./text-bytes.js";

/** Options for {@link readSexp}. */
export interface ReadOptions {
  /**
   * File name put in problems.
   * @default "<spec>"
   */
  readonly file?: string;
}

/**
 * Deepest nesting of lists a spec may have. Real specs nest a handful of levels (a `build`
 * stage adds three); the parser, printer and checks recurse once per level, so a hostile spec
 * with thousands of levels is refused here, with its position, instead of overflowing a stack.
 * @default 200
 */
export const MAX_SPEC_NESTING = 200;

class ReadFailure extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    message: string,
  ) {
    super(message);
  }
}

interface Mark {
  readonly line: number;
  readonly column: number;
}

interface Frame extends Mark {
  readonly items: SexpNode[];
  // Pending `#;` marks: each one swallows the next complete datum in this list.
  readonly skips: Mark[];
}

function isDelimiter(c: number): boolean {
  // space, tab, LF, form feed, CR, ( ) " ;
  return (
    c === 32 ||
    c === 9 ||
    c === 10 ||
    c === 12 ||
    c === 13 ||
    c === 40 ||
    c === 41 ||
    c === 34 ||
    c === 59
  );
}

class Reader {
  private pos = 0;
  private line = 1;
  private lineStart = 0;

  constructor(private readonly text: string) {}

  read(): SexpNode {
    const root: Frame = { line: 1, column: 1, items: [], skips: [] };
    const stack: Frame[] = [];
    let frame = root;
    const add = (target: Frame, node: SexpNode) => {
      if (target.skips.length > 0) target.skips.pop();
      else target.items.push(node);
    };
    for (;;) {
      this.skipBlank();
      if (this.pos >= this.text.length) break;
      const ch = this.text[this.pos];
      const next = this.text[this.pos + 1];
      const here = this.mark();
      if (ch === ")") {
        const parent = stack.pop();
        if (parent === undefined) {
          this.fail(here, 'unexpected ")": no list is open here; expected an S-expression');
        }
        const skip = frame.skips[0];
        if (skip !== undefined) this.fail(skip, 'expected an S-expression after "#;", found ")"');
        this.pos++;
        const list: SexpList = {
          kind: "list",
          items: frame.items,
          line: frame.line,
          column: frame.column,
        };
        frame = parent;
        add(frame, list);
        continue;
      }
      if (ch === "#" && next === ";") {
        this.pos += 2;
        frame.skips.push(here);
        continue;
      }
      if (frame === root && root.items.length > 0 && root.skips.length === 0) {
        this.fail(here, "expected end of file: a spec file holds exactly one S-expression");
      }
      if (ch === "(") {
        if (stack.length >= MAX_SPEC_NESTING)
          this.fail(
            here,
            `lists nested more than ${MAX_SPEC_NESTING} deep here; a spec never needs that many (is a ")" missing?)`,
          );
        this.pos++;
        stack.push(frame);
        frame = { line: here.line, column: here.column, items: [], skips: [] };
      } else if (ch === '"') {
        add(frame, this.readQuoted(here));
      } else if (ch === "|" && next === "#") {
        this.fail(here, 'unexpected "|#" outside a block comment; expected an S-expression');
      } else {
        add(frame, this.readUnquoted(here));
      }
    }
    if (frame !== root) {
      this.fail(frame, 'expected ")" to close the list opened here, found end of file');
    }
    const skip = root.skips[0];
    if (skip !== undefined)
      this.fail(skip, 'expected an S-expression after "#;", found end of file');
    const value = root.items[0];
    if (value === undefined) this.fail(this.mark(), "expected an S-expression, found end of file");
    return value;
  }

  private mark(): Mark {
    return { line: this.line, column: this.pos - this.lineStart + 1 };
  }

  private fail(at: Mark, message: string): never {
    throw new ReadFailure(at.line, at.column, message);
  }

  private newline(): void {
    this.line++;
    this.lineStart = this.pos;
  }

  /** Skips whitespace, `;` line comments and `#| |#` block comments. */
  private skipBlank(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 12) {
        this.pos++;
      } else if (c === 10) {
        this.pos++;
        this.newline();
      } else if (c === 13) {
        if (text.charCodeAt(this.pos + 1) !== 10) {
          this.fail(
            this.mark(),
            'expected "\\n" after "\\r": a lone carriage return is not whitespace',
          );
        }
        this.pos += 2;
        this.newline();
      } else if (c === 59) {
        const end = text.indexOf("\n", this.pos);
        this.pos = end === -1 ? text.length : end;
      } else if (c === 35 && text[this.pos + 1] === "|") {
        this.skipBlockComment();
      } else {
        return;
      }
    }
  }

  private skipBlockComment(): void {
    const start = this.mark();
    const text = this.text;
    let depth = 0;
    while (this.pos < text.length) {
      const c = text[this.pos];
      const next = text[this.pos + 1];
      if (c === "#" && next === "|") {
        depth++;
        this.pos += 2;
      } else if (c === "|" && next === "#") {
        depth--;
        this.pos += 2;
        if (depth === 0) return;
      } else {
        this.pos++;
        if (c === "\n") this.newline();
      }
    }
    this.fail(start, 'expected "|#" to close the block comment opened here, found end of file');
  }

  private readUnquoted(at: Mark): SexpAtom {
    const text = this.text;
    const start = this.pos;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (isDelimiter(c)) break;
      const next = text.charCodeAt(this.pos + 1);
      // "#|" or "|#" would open or close a block comment for other readers.
      if ((c === 35 && next === 124) || (c === 124 && next === 35)) {
        const pair = text.slice(this.pos, this.pos + 2);
        this.fail(this.mark(), `unexpected "${pair}" inside an unquoted atom; quote the atom`);
      }
      this.pos++;
    }
    return {
      kind: "atom",
      value: text.slice(start, this.pos),
      quoted: false,
      line: at.line,
      column: at.column,
    };
  }

  private readQuoted(at: Mark): SexpAtom {
    const text = this.text;
    this.pos++;
    let segment = this.pos;
    // Only strings with escapes go through bytes: `\DDD` and `\xHH` give bytes, decoded as UTF-8.
    let bytes: number[] | undefined;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (Number.isNaN(c)) {
        this.fail(at, "expected a closing '\"' for the string opened here, found end of file");
      }
      if (c === 34) break;
      if (c === 10) {
        this.pos++;
        this.newline();
        continue;
      }
      if (c !== 92) {
        this.pos++;
        continue;
      }
      bytes ??= [];
      pushText(bytes, text.slice(segment, this.pos));
      this.readEscape(bytes);
      segment = this.pos;
    }
    const tail = text.slice(segment, this.pos);
    this.pos++;
    let value = tail;
    if (bytes !== undefined) {
      pushText(bytes, tail);
      value = decodeBytes(bytes);
    }
    return { kind: "atom", value, quoted: true, line: at.line, column: at.column };
  }

  /** Reads one escape at `\`, appending its bytes. */
  private readEscape(bytes: number[]): void {
    const text = this.text;
    const here = this.mark();
    const next = text[this.pos + 1];
    const simple = next === undefined ? undefined : SIMPLE_ESCAPES[next];
    if (next === "\n" || (next === "\r" && text[this.pos + 2] === "\n")) {
      // Line continuation: the backslash, the newline and the next line's indentation vanish.
      this.pos += next === "\n" ? 2 : 3;
      this.newline();
      while (text[this.pos] === " " || text[this.pos] === "\t") this.pos++;
    } else if (simple !== undefined) {
      bytes.push(simple);
      this.pos += 2;
    } else if (isDigit(next) && isDigit(text[this.pos + 2]) && isDigit(text[this.pos + 3])) {
      const digits = text.slice(this.pos + 1, this.pos + 4);
      const code = Number(digits);
      if (code > 255) {
        this.fail(here, `expected a decimal escape \\DDD of at most 255, found \\${digits}`);
      }
      bytes.push(code);
      this.pos += 4;
    } else if (next === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(this.pos + 2, this.pos + 4))) {
      bytes.push(Number.parseInt(text.slice(this.pos + 2, this.pos + 4), 16));
      this.pos += 4;
    } else {
      // Unknown escape: the backslash stays and the next character is read as usual.
      bytes.push(92);
      this.pos++;
    }
  }
}

/**
 * Reads the single S-expression of a spec file, keeping line and column for every node.
 * Returns the first syntax problem (with its place and what was expected) instead of throwing.
 */
export function readSexp(text: string, options: ReadOptions = {}): ReadResult {
  try {
    return { ok: true, value: new Reader(text).read() };
  } catch (error) {
    if (!(error instanceof ReadFailure)) throw error;
    const file = options.file ?? DEFAULT_SPEC_FILE;
    return {
      ok: false,
      problems: [{ file, line: error.line, column: error.column, message: error.message }],
    };
  }
}
