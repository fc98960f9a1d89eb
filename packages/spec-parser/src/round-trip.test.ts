import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChildBuild, CopyOp, Mount, Op, Spec } from "./ast.js";
import { parseSpec } from "./parse-spec.js";
import { printSpec } from "./print-spec.js";

const word = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,8}$/);
// Any text, including quotes, backslashes, comment markers, controls and non-ASCII.
const text = fc.oneof(
  word,
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom("", "#|", "|#", '"', "\\", ";", "a b"),
);
const path = fc.oneof(word, text).map((p) =>
  p
    .split(/[/\\]/)
    .filter((part) => part !== "..")
    .join("/"),
);
const id = fc.nat({ max: 70000 });

const mount: fc.Arbitrary<Mount> = fc.record({
  id: text,
  target: text,
  buildkitOptions: fc.array(fc.tuple(text, text), { maxLength: 2 }),
});
const mounts = fc.uniqueArray(mount, { maxLength: 3, selector: (m) => m.id });

// `from` is an index into the builds in scope, fixed up by `resolve` below.
const copy = fc.record({
  op: fc.constant("copy" as const),
  fromIndex: fc.option(fc.nat(), { nil: undefined }),
  src: fc.array(path, { maxLength: 3 }),
  dst: text,
  exclude: fc.array(text, { maxLength: 2 }),
});

const op = fc.oneof(
  fc.record({ op: fc.constant("comment" as const), text }),
  fc.record({ op: fc.constant("workdir" as const), dir: text }),
  fc.record({ op: fc.constant("shell" as const), args: fc.array(text, { maxLength: 3 }) }),
  fc.record({ op: fc.constant("env" as const), name: text, value: text }),
  fc.record({
    op: fc.constant("user" as const),
    user: fc.oneof(fc.record({ uid: id, gid: id }), fc.record({ name: text })),
  }),
  fc.record({
    op: fc.constant("run" as const),
    cache: mounts,
    network: fc.array(text, { maxLength: 2 }),
    secrets: mounts,
    shell: text,
  }),
  copy,
);

type RawOp = Exclude<Op, CopyOp> | (Omit<CopyOp, "from"> & { fromIndex: number | undefined });
interface RawSpec {
  builds: readonly { name: string; spec: RawSpec }[];
  from: string;
  ops: readonly RawOp[];
}

const rawSpec = fc.letrec<{ spec: RawSpec }>((tie) => ({
  spec: fc.record({
    builds: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant([]),
      fc.uniqueArray(fc.record({ name: text, spec: tie("spec") }), {
        maxLength: 2,
        selector: (b) => b.name,
      }),
    ),
    from: text,
    ops: fc.array(op as fc.Arbitrary<RawOp>, { maxLength: 8 }),
  }),
})).spec;

/** Makes a random spec valid: copy sources in scope, a trailing "/" for several sources. */
function resolve(raw: RawSpec, outer: readonly string[]): Spec {
  const scope = [...outer];
  const builds: ChildBuild[] = [];
  for (const build of raw.builds) {
    builds.push({ name: build.name, spec: resolve(build.spec, scope) });
    scope.push(build.name);
  }
  const ops = raw.ops.map((o): Op => {
    if (o.op !== "copy") return o;
    const { fromIndex, ...rest } = o;
    const name = fromIndex === undefined ? undefined : scope[fromIndex % Math.max(1, scope.length)];
    const dst = rest.src.length !== 1 && !rest.dst.endsWith("/") ? `${rest.dst}/` : rest.dst;
    return { ...rest, dst, from: name === undefined ? "context" : { build: name } };
  });
  return { builds, from: raw.from, ops };
}

const validSpec = rawSpec.map((raw) => resolve(raw, []));

describe("round trip", () => {
  it("parse(print(spec)) deep-equals spec, and printing is stable", () => {
    fc.assert(
      fc.property(validSpec, (spec) => {
        const printed = printSpec(spec);
        const result = parseSpec(printed);
        if (!result.ok) throw new Error(`${result.problems[0]?.message}\n${printed}`);
        expect(result.spec).toEqual(spec);
        expect(printSpec(result.spec)).toBe(printed);
      }),
      { numRuns: 300 },
    );
  });
});

function expectTypedOutcome(input: string): void {
  const result = parseSpec(input, { file: "fuzz.spec" });
  if (result.ok) return;
  expect(["SPEC_SYNTAX", "SPEC_INVALID"]).toContain(result.code);
  expect(result.problems.length).toBeGreaterThan(0);
  for (const problem of result.problems) {
    expect(problem.file).toBe("fuzz.spec");
    expect(problem.line).toBeGreaterThanOrEqual(1);
    expect(problem.column).toBeGreaterThanOrEqual(1);
    expect(problem.message.length).toBeGreaterThan(0);
  }
}

describe("robustness", () => {
  it("never crashes on random text", () => {
    const alphabet = fc.constantFrom(
      ...'()"\\;#| \n\r\tabfrom run copy shell src dst build'.split(""),
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: alphabet, maxLength: 80 })),
        expectTypedOutcome,
      ),
      { numRuns: 500 },
    );
  });

  it("never crashes on mutated specs", () => {
    const mutation = fc.record({
      at: fc.nat(),
      remove: fc.nat({ max: 4 }),
      insert: fc.string({ maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        validSpec,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (spec, mutations) => {
          let printed = printSpec(spec);
          for (const { at, remove, insert } of mutations) {
            const index = at % (printed.length + 1);
            printed = printed.slice(0, index) + insert + printed.slice(index + remove);
          }
          expectTypedOutcome(printed);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads deeply nested input without overflowing the stack", () => {
    const deep = `${"(".repeat(100_000)}${")".repeat(100_000)}`;
    expectTypedOutcome(deep);
  });
});
