import { describe, expect, it } from "vitest";
import { SpecError } from "./errors.js";
import { parseSpec, parseSpecOrThrow } from "./parse-spec.js";

function problems(text: string) {
  const result = parseSpec(text, { file: "t.spec" });
  if (result.ok) throw new Error("expected problems");
  return result.problems.map((p) => `${p.line}:${p.column}: ${p.message}`);
}

describe("parseSpec: the AST", () => {
  it("parses every operation with all fields", () => {
    const text = `((build dev ((from base) (run (shell make))))
 (from busybox)
 (comment "hello world")
 (workdir /src)
 (shell /bin/sh -c)
 (run (shell "a") (secrets (s (target /t))) (network host)
      (cache (c (buildkit_options (sharing locked)) (target /c))))
 (copy (dst /x/) (exclude .git) (src a b) (from (build dev)))
 (copy (from context) (src a) (dst b))
 (user (gid 2) (uid 1))
 (user (name opam))
 (env A "1 2"))`;
    const result = parseSpec(text);
    if (!result.ok) throw new Error(result.problems[0]?.message);
    expect(result.spec).toEqual({
      builds: [
        {
          name: "dev",
          spec: {
            builds: [],
            from: "base",
            ops: [{ op: "run", cache: [], network: [], secrets: [], shell: "make" }],
          },
        },
      ],
      from: "busybox",
      ops: [
        { op: "comment", text: "hello world" },
        { op: "workdir", dir: "/src" },
        { op: "shell", args: ["/bin/sh", "-c"] },
        {
          op: "run",
          shell: "a",
          network: ["host"],
          secrets: [{ id: "s", target: "/t", buildkitOptions: [] }],
          cache: [{ id: "c", target: "/c", buildkitOptions: [["sharing", "locked"]] }],
        },
        { op: "copy", from: { build: "dev" }, src: ["a", "b"], dst: "/x/", exclude: [".git"] },
        { op: "copy", from: "context", src: ["a"], dst: "b", exclude: [] },
        { op: "user", user: { uid: 1, gid: 2 } },
        { op: "user", user: { name: "opam" } },
        { op: "env", name: "A", value: "1 2" },
      ],
    });
  });

  it("keeps source locations apart from the AST", () => {
    const result = parseSpec("((from a)\n (run (shell x)))", { file: "f.spec" });
    if (!result.ok) throw new Error("parse failed");
    expect(result.locations.get(result.spec.ops[0]!)).toEqual({
      file: "f.spec",
      line: 2,
      column: 2,
    });
    expect(result.locations.get(result.spec)).toEqual({ file: "f.spec", line: 1, column: 1 });
  });

  it("accepts an empty shell and empty optional fields", () => {
    const result = parseSpec("((from a) (shell) (run (cache) (network) (shell x)))");
    expect(result.ok).toBe(true);
  });
});

describe("parseSpec: every problem, with its place", () => {
  it.each([
    [
      "((from a) (rnu (shell x)))",
      [
        '1:12: unknown operation "rnu"; expected comment, workdir, shell, run, copy, user or env. Did you mean "run"?',
      ],
    ],
    ["((from a) (run))", ['1:11: run: missing field (shell "COMMAND")']],
    [
      "((from a) (run (shell x) (shell y)))",
      ['1:26: run: duplicate field "shell"; the first one is at 1:16'],
    ],
    [
      "((from a) (run (shel x)))",
      [
        '1:16: run: unknown field "shel"; expected cache, network, secrets or shell. Did you mean "shell"?',
        '1:11: run: missing field (shell "COMMAND")',
      ],
    ],
    [
      "((from a) (run (shell x y)))",
      ['1:16: expected (shell "COMMAND"): one atom after "shell", found 2'],
    ],
    [
      "((from a) (run (shell (x))))",
      ['1:23: expected an atom in (shell "COMMAND"), found (x ...)'],
    ],
    [
      "((from a) (run x (shell y)))",
      ['1:16: run: expected a field such as (cache (ID (target PATH))...), found atom "x"'],
    ],
    ["((from a) (run (cache (c)) (shell y)))", ["1:23: cache entry: missing field (target PATH)"]],
    [
      "((from a) (run (cache c) (shell y)))",
      [
        '1:23: cache entry: expected (ID (target PATH)) as in (cache (ID (target PATH) (buildkit_options (K V)...)?)), found atom "c"',
      ],
    ],
    [
      "((from a) (run (cache (c (target /a) (buildkit_options (k)))) (shell y)))",
      ["1:56: expected a (KEY VALUE) pair in buildkit_options, found (k ...)"],
    ],
    [
      "((from a) (user (uid 1)))",
      ["1:11: user: expected (user (uid U) (gid G)) or (user (name N))"],
    ],
    [
      "((from a) (user (name x) (uid 1)))",
      ["1:11: user: expected (user (uid U) (gid G)) or (user (name N))"],
    ],
    ["((from a) (user (uid -1) (gid x)))", ['1:31: user: expected an integer gid, found "x"']],
    ["((from a) (env A))", ['1:11: expected (env NAME VALUE): 2 atoms after "env", found 1']],
    [
      "((from a) (comment))",
      ['1:11: expected (comment "TEXT"): one atom after "comment", found 0'],
    ],
    ["((from a) (copy (src a)))", ["1:11: copy: missing field (dst DST)"]],
    [
      "((from a) (copy (from elsewhere) (src a) (dst x)))",
      ['1:23: copy: expected (from context) or (from (build NAME)), found atom "elsewhere"'],
    ],
    [
      "((build dev ((from a))) (from b) (copy (from (build dve)) (src a) (dst x)))",
      ['1:53: copy: unknown build "dve"; builds in scope: "dev". Did you mean "dev"?'],
    ],
    [
      "((from b) (copy (from (build dev)) (src a) (dst x)))",
      [
        '1:30: copy: unknown build "dev"; no builds are in scope here; define one with (build NAME SPEC) before (from ...).',
      ],
    ],
    [
      "((run (shell x)))",
      ["1:1: missing (from BASE): a spec is ((build NAME SPEC)... (from BASE) OP...)"],
    ],
    ["((from a) (from b))", ["1:11: duplicate (from BASE); the first one is at 1:2"]],
    [
      "((run (shell x)) (from a))",
      ["1:18: (from BASE) must come before the first operation (at 1:2)"],
    ],
    ["((from a b))", ["1:2: expected (from BASE)"]],
    [
      "((from a) (build x ((from b))))",
      ["1:11: (build ...) must come before (from BASE) and the operations (see 1:2)"],
    ],
    ["((build x) (from c))", ["1:2: expected (build NAME SPEC)"]],
    [
      "((build x (run)) (from c))",
      [
        '1:12: expected an operation such as (run (shell "COMMAND")), found atom "run"',
        "1:11: missing (from BASE): a spec is ((build NAME SPEC)... (from BASE) OP...)",
      ],
    ],
    [
      "(from a)",
      [
        '1:2: expected an operation such as (run (shell "COMMAND")), found atom "from"',
        '1:7: expected an operation such as (run (shell "COMMAND")), found atom "a"',
        "1:1: missing (from BASE): a spec is ((build NAME SPEC)... (from BASE) OP...)",
      ],
    ],
    ["atom", ['1:1: expected a spec ((build NAME SPEC)... (from BASE) OP...), found atom "atom"']],
  ])("%s", (text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it("reports several problems in one pass", () => {
    const text = "((from a)\n (rnu)\n (copy (src ../a) (dst b) (extra x))\n (env A))";
    expect(problems(text).map((p) => p.split(":").slice(0, 2).join(":"))).toEqual([
      "2:3",
      "3:27",
      "4:2",
    ]);
  });

  it("lets builds see builds defined before them, including the outer scope", () => {
    const text = `((build a ((from x)))
 (build b ((build c ((from y))) (from z) (copy (from (build a)) (src p) (dst q)) (copy (from (build c)) (src p) (dst q))))
 (from w)
 (copy (from (build b)) (src p) (dst q)))`;
    expect(parseSpec(text).ok).toBe(true);
    expect(
      problems(
        "((build a ((from x) (copy (from (build b)) (src p) (dst q)))) (build b ((from y))) (from z))",
      ),
    ).toEqual([
      '1:40: copy: unknown build "b"; no builds are in scope here; define one with (build NAME SPEC) before (from ...).',
    ]);
  });
});

describe("parseSpec: what OBuilder's parser accepts and only its build refuses", () => {
  function buildProblems(text: string) {
    const result = parseSpec(text, { file: "t.spec" });
    if (!result.ok) throw new Error(`expected the spec to parse: ${result.problems[0]?.message}`);
    return result.buildProblems.map((p) => `${p.line}:${p.column}: ${p.message}`);
  }

  it.each([
    [
      "((from a) (copy (src a b) (dst x)))",
      [
        '1:11: copy: expected exactly one source because (dst x) does not end with "/", found 2; add a trailing "/" to copy into a directory',
      ],
    ],
    [
      "((from a) (copy (src) (dst x)))",
      [
        '1:11: copy: expected exactly one source because (dst x) does not end with "/", found 0; add a trailing "/" to copy into a directory',
      ],
    ],
    [
      "((from a) (copy (src ../x a/../../y) (dst x/)))",
      [
        '1:11: copy: source "../x" must not contain ".."; sources stay inside the context',
        '1:11: copy: source "a/../../y" must not contain ".."; sources stay inside the context',
      ],
    ],
    [
      "((build x ((from a))) (build x ((from b))) (from c))",
      ['1:23: build "x" is already defined at 1:2; use another name'],
    ],
    [
      "((from a) (run (secrets (s (target /a)) (s (target /b))) (shell y)))",
      ['1:41: secret entry: duplicate id "s"; the first one is at 1:25'],
    ],
    [
      "((from a) (run (cache (c (target /a)) (c (target /b))) (shell y)))",
      ['1:39: cache entry: duplicate id "c"; the first one is at 1:23'],
    ],
    [
      "((from a) (user (uid -1) (gid -0x2)))",
      [
        "1:11: user: expected a non-negative integer uid, found -1",
        "1:11: user: expected a non-negative integer gid, found -2",
      ],
    ],
    [
      "((build s ((from a) (copy (src a b) (dst c)))) (from b))",
      [
        '1:21: copy: expected exactly one source because (dst c) does not end with "/", found 2; add a trailing "/" to copy into a directory',
      ],
    ],
  ])("%s parses; a build refuses it", (text, expected) => {
    expect(buildProblems(text)).toEqual(expected);
  });

  it("has no build problems for a spec a build accepts", () => {
    expect(buildProblems("((from a) (copy (src a b) (dst x/)) (copy (src a) (dst b)))")).toEqual(
      [],
    );
  });

  it.each([
    ["0", 0],
    ["1000", 1000],
    ["1_000", 1000],
    ["0x10", 16],
    ["0o17", 15],
    ["0b101", 5],
    ["+7", 7],
  ])("reads the uid %s as OCaml's int_of_string does", (text, value) => {
    const result = parseSpec(`((from a) (user (uid ${text}) (gid 0)))`);
    expect(result.ok && result.spec.ops[0]).toEqual({ op: "user", user: { uid: value, gid: 0 } });
  });

  it("parseSpecOrThrow (for specs about to be built) throws the build problems", () => {
    expect(() => parseSpecOrThrow("((from a) (copy (src a b) (dst x)))")).toThrow(
      expect.objectContaining({ code: "SPEC_INVALID" }),
    );
  });
});

describe("parseSpecOrThrow", () => {
  it("returns the spec", () => {
    expect(parseSpecOrThrow("((from a))")).toEqual({ builds: [], from: "a", ops: [] });
  });

  it("throws SPEC_SYNTAX for unreadable text", () => {
    expect(() => parseSpecOrThrow("((from a)", { file: "x.spec" })).toThrow(
      expect.objectContaining({
        code: "SPEC_SYNTAX",
        problems: [expect.objectContaining({ file: "x.spec", line: 1, column: 1 })],
      }),
    );
  });

  it("throws SPEC_INVALID with all problems", () => {
    try {
      parseSpecOrThrow("((from a) (rnu) (env))");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).code).toBe("SPEC_INVALID");
      expect((error as SpecError).problems).toHaveLength(2);
      expect((error as SpecError).message).toContain("(and 1 more problems)");
    }
  });
});
