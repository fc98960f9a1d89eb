import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Spec } from "./ast.js";
import { parseSpecOrThrow } from "./parse-spec.js";
import { printOperation, printSpec } from "./print-spec.js";
import { mustQuote, printAtom } from "./quote-atom.js";

const examplesDir = join(import.meta.dirname, "..", "examples");

function copySpec(dst: string): Spec {
  return {
    builds: [],
    from: "a",
    ops: [{ op: "copy", from: "context", src: ["s"], dst, exclude: [] }],
  };
}

describe("printSpec: canonical layout", () => {
  it.each(readdirSync(examplesDir).filter((f) => f.endsWith(".spec")))(
    "%s prints back byte for byte",
    (name) => {
      const text = readFileSync(join(examplesDir, name), "utf8");
      expect(printSpec(parseSpecOrThrow(text, { file: name }))).toBe(text);
    },
  );

  it("puts the first item after ( and ) alone on the last line", () => {
    expect(printSpec({ builds: [], from: "a", ops: [{ op: "workdir", dir: "/x" }] })).toBe(
      "((from a)\n (workdir /x)\n)\n",
    );
  });

  it("keeps a run with one field on one line and aligns the fields of a longer one", () => {
    const text = "((from a)\n (run (shell x))\n (run (network host)\n      (shell y))\n)\n";
    expect(printSpec(parseSpecOrThrow(text))).toBe(text);
  });

  it("keeps copy on one line up to 78 columns, including the closing paren", () => {
    // " (copy (src s) (dst " is 20 columns, "))" 2: a dst of 56 characters makes 78.
    const fits = printSpec(copySpec("d".repeat(56)));
    expect(fits.split("\n")[1]).toHaveLength(78);
    const breaks = printSpec(copySpec("d".repeat(57)));
    expect(breaks).toBe(`((from a)\n (copy (src s)\n       (dst ${"d".repeat(57)}))\n)\n`);
  });

  it("measures copy lines from their own column inside builds", () => {
    const inner = copySpec("d".repeat(48));
    const text = printSpec({ builds: [{ name: "b", spec: inner }], from: "x", ops: [] });
    expect(text).toBe(
      `((build b\n        ((from a)\n         (copy (src s) (dst ${"d".repeat(48)}))))\n (from x)\n)\n`,
    );
    const longer = printSpec({
      builds: [{ name: "b", spec: copySpec("d".repeat(49)) }],
      from: "x",
      ops: [],
    });
    expect(longer).toContain(`(copy (src s)\n               (dst ${"d".repeat(49)}))))`);
  });

  it("omits empty optional fields and (from context)", () => {
    const spec: Spec = {
      builds: [],
      from: "a",
      ops: [{ op: "run", cache: [], network: [], secrets: [], shell: "x" }, ...copySpec("y").ops],
    };
    expect(printSpec(spec)).toBe("((from a)\n (run (shell x))\n (copy (src s) (dst y))\n)\n");
  });

  it("prints users, env, shell and comments on one line", () => {
    const spec: Spec = {
      builds: [],
      from: "a",
      ops: [
        { op: "user", user: { uid: 1000, gid: 100 } },
        { op: "user", user: { name: "opam" } },
        { op: "env", name: "A", value: "b c" },
        { op: "shell", args: [] },
        { op: "comment", text: "hi" },
      ],
    };
    expect(printSpec(spec)).toBe(
      '((from a)\n (user (uid 1000) (gid 100))\n (user (name opam))\n (env A "b c")\n (shell)\n (comment hi)\n)\n',
    );
  });

  it("prints one operation as OBuilder's pp_op does", () => {
    expect(
      printOperation({ op: "run", cache: [], network: ["host"], secrets: [], shell: "x" }),
    ).toBe("(run (network host)\n     (shell x))");
  });
});

describe("printAtom: quoting", () => {
  it.each([
    ["plain", "plain"],
    ["", '""'],
    ["a b", '"a b"'],
    ['a"b', '"a\\"b"'],
    ["a(b", '"a(b"'],
    ["a)b", '"a)b"'],
    ["a;b", '"a;b"'],
    ["C:\\x", '"C:\\\\x"'],
    ["a\nb\tc\rd\be", '"a\\nb\\tc\\rd\\be"'],
    ["\u0001\u007f", '"\\001\\127"'],
    ["é", '"\\195\\169"'],
    ["a#|b", '"a#|b"'],
    ["a|#b", '"a|#b"'],
    ["#a|b", "#a|b"],
    ["it's", "it's"],
  ])("%j prints as %s", (atom, printed) => {
    expect(printAtom(atom)).toBe(printed);
    expect(mustQuote(atom)).toBe(printed !== atom);
  });
});
