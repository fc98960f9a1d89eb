import { describe, expect, it } from "vitest";
import { readSexp } from "./read-sexp.js";
import type { SexpNode } from "./sexp.js";

function strip(node: SexpNode): unknown {
  return node.kind === "atom" ? node.value : node.items.map(strip);
}

function read(text: string): unknown {
  const result = readSexp(text, { file: "t.spec" });
  if (!result.ok) throw new Error(result.problems[0]?.message);
  return strip(result.value);
}

function problem(text: string) {
  const result = readSexp(text, { file: "t.spec" });
  if (result.ok) throw new Error("expected a syntax problem");
  expect(result.problems).toHaveLength(1);
  return result.problems[0]!;
}

function atom(text: string): string {
  const value = read(text);
  if (typeof value !== "string") throw new Error("expected an atom");
  return value;
}

describe("readSexp: structure and positions", () => {
  it("keeps line and column of atoms and lists", () => {
    const result = readSexp('(a\n  (b "c")\n\t d)');
    if (!result.ok) throw new Error("read failed");
    const root = result.value;
    expect(root).toMatchObject({ kind: "list", line: 1, column: 1 });
    if (root.kind !== "list") return;
    expect(root.items[0]).toMatchObject({ value: "a", line: 1, column: 2 });
    expect(root.items[1]).toMatchObject({ kind: "list", line: 2, column: 3 });
    const inner = root.items[1];
    if (inner?.kind !== "list") return;
    expect(inner.items[1]).toMatchObject({ value: "c", quoted: true, line: 2, column: 6 });
    expect(root.items[2]).toMatchObject({ value: "d", line: 3, column: 3 });
  });

  it("treats space, tab, form feed, LF and CRLF as whitespace", () => {
    expect(read("(a\tb\fc\r\nd\ne )")).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("counts CRLF as one line break", () => {
    const result = readSexp("(a\r\n b)");
    if (!result.ok || result.value.kind !== "list") throw new Error("read failed");
    expect(result.value.items[1]).toMatchObject({ line: 2, column: 2 });
  });

  it("reads nested and empty lists", () => {
    expect(read("((a) () (b (c)))")).toEqual([["a"], [], ["b", ["c"]]]);
  });
});

describe("readSexp: comments", () => {
  it("skips ; line comments", () => {
    expect(read("; head\n(a ; x ) y\n b)")).toEqual(["a", "b"]);
  });

  it("skips nesting #| |# block comments", () => {
    expect(read("(a #| one #| two |# still |# b)")).toEqual(["a", "b"]);
  });

  it("tracks lines inside block comments", () => {
    expect(problem("#| a\nb\n|# (x")).toMatchObject({ line: 3, column: 4 });
  });

  it("#; comments out the next S-expression, atom or list", () => {
    expect(read("(a #; b c #;(d (e)) f)")).toEqual(["a", "c", "f"]);
    expect(read("(#; #; a b c)")).toEqual(["c"]);
    expect(read("#; (ignored) (kept)")).toEqual(["kept"]);
    expect(read("(kept) #; (ignored)")).toEqual(["kept"]);
  });
});

describe("readSexp: unquoted atoms", () => {
  it("keeps backslashes", () => {
    expect(atom("C:\\Users\\opam")).toBe("C:\\Users\\opam");
  });

  it('ends at ; ( ) " and whitespace', () => {
    expect(read('(a;c\nb(c)d"e")')).toEqual(["a", "b", ["c"], "d", "e"]);
  });

  it("allows # and | alone", () => {
    expect(read("(#a b# | a|b)")).toEqual(["#a", "b#", "|", "a|b"]);
  });
});

describe("readSexp: quoted atoms", () => {
  it.each([
    ['"a\\\\b"', "a\\b"],
    ['"a\\"b"', 'a"b'],
    ['"a\\\'b"', "a'b"],
    ['"\\n\\t\\b\\r"', "\n\t\b\r"],
    ['"a\\ b"', "a b"],
    ['"\\065\\066"', "AB"],
    ['"\\x41\\x6a"', "Aj"],
    ['"\\195\\169"', "é"],
    ['"\\c\\q"', "\\c\\q"],
    ['"\\12x"', "\\12x"],
    ['"\\xZZ"', "\\xZZ"],
    ['"a\\\n    \tb"', "ab"],
    ['"a\\\r\n  b"', "ab"],
    ['"a\nb"', "a\nb"],
    ['""', ""],
    ['"é ü"', "é ü"],
  ])("reads %s", (text, value) => {
    expect(atom(text)).toBe(value);
  });

  it("rejects a decimal escape above 255 at the backslash", () => {
    expect(problem('(a "xy\\256")')).toMatchObject({
      line: 1,
      column: 7,
      message: expect.stringContaining("at most 255"),
    });
  });

  it("keeps line numbers after raw and continued newlines", () => {
    const result = readSexp('("a\nb\\\n c" d)');
    if (!result.ok || result.value.kind !== "list") throw new Error("read failed");
    expect(result.value.items[1]).toMatchObject({ line: 3, column: 5 });
  });
});

describe("readSexp: syntax errors carry file, line, column and what was expected", () => {
  it.each([
    ["", 1, 1, "expected an S-expression, found end of file"],
    ["  ; only a comment\n", 2, 1, "expected an S-expression"],
    ["(a\n (b)", 1, 1, 'expected ")" to close the list'],
    ["(a))", 1, 4, 'unexpected ")"'],
    ["(a) (b)", 1, 5, "exactly one S-expression"],
    ["a b", 1, 3, "exactly one S-expression"],
    ['(a\n "bc', 2, 2, "expected a closing '\"'"],
    ["(a #| x", 1, 4, 'expected "|#" to close the block comment'],
    ["(a |# b)", 1, 4, 'unexpected "|#" outside a block comment'],
    ["(ab#|c)", 1, 4, "inside an unquoted atom"],
    ["(a #;)", 1, 4, 'expected an S-expression after "#;"'],
    ["(a) #;", 1, 5, 'expected an S-expression after "#;"'],
    ["(a\rb)", 1, 3, "lone carriage return"],
  ])("%j", (text, line, column, message) => {
    const found = problem(text);
    expect(found).toMatchObject({ file: "t.spec", line, column });
    expect(found.message).toContain(message);
  });

  it("uses <spec> when no file name is given", () => {
    const result = readSexp("(");
    expect(result.ok ? undefined : result.problems[0]?.file).toBe("<spec>");
  });
});
