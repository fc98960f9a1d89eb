import type { CopyOp, CopySource } from "./ast.js";
import { didYouMean } from "./did-you-mean.js";
import {
  describeNode,
  type FieldRules,
  headOf,
  type ParseContext,
  readAtoms,
  readExactAtoms,
  readFields,
} from "./parse-context.js";
import type { SexpList } from "./sexp.js";

/** The fields of `copy`, with the usage each problem quotes. */
export const COPY_RULES: FieldRules = {
  owner: "copy",
  usage: {
    from: "(from context) or (from (build NAME))",
    src: "(src SRC...)",
    dst: "(dst DST)",
    exclude: "(exclude NAME...)",
  },
  required: ["src", "dst"],
};

/** True when a source path has a `..` component (either separator, for Windows guests). */
export function hasParentComponent(path: string): boolean {
  return path.split(/[/\\]/).includes("..");
}

function describeScope(scope: readonly string[]): string {
  if (scope.length === 0) {
    return "no builds are in scope here; define one with (build NAME SPEC) before (from ...)";
  }
  return `builds in scope: ${scope.map((name) => JSON.stringify(name)).join(", ")}`;
}

function parseSource(ctx: ParseContext, field: SexpList, scope: readonly string[]) {
  const usage = COPY_RULES.usage.from!;
  const [, value, extra] = field.items;
  if (value === undefined || extra !== undefined) {
    return ctx.report(field, `copy: expected ${usage}`);
  }
  if (value.kind === "atom") {
    if (value.value === "context") return "context";
    return ctx.report(value, `copy: expected ${usage}, found ${describeNode(value)}`);
  }
  const [head, name, more] = value.items;
  if (
    headOf(value) !== "build" ||
    name?.kind !== "atom" ||
    more !== undefined ||
    head === undefined
  ) {
    return ctx.report(value, `copy: expected ${usage}, found ${describeNode(value)}`);
  }
  if (!scope.includes(name.value)) {
    return ctx.report(
      name,
      `copy: unknown build "${name.value}"; ${describeScope(scope)}.${didYouMean(name.value, scope)}`,
    );
  }
  const source: CopySource = { build: name.value };
  return source;
}

/** `(copy (from ...)? (src SRC...) (dst DST) (exclude NAME...)?)`, fields in any order. */
export function parseCopy(
  ctx: ParseContext,
  node: SexpList,
  scope: readonly string[],
): CopyOp | undefined {
  const fields = readFields(ctx, node, node.items.slice(1), COPY_RULES);
  const fromField = fields.get("from");
  const from = fromField ? parseSource(ctx, fromField, scope) : "context";
  const srcField = fields.get("src");
  const src = srcField && readAtoms(ctx, srcField, COPY_RULES.usage.src!);
  const dstField = fields.get("dst");
  const dst = dstField && readExactAtoms(ctx, dstField, 1, COPY_RULES.usage.dst!)?.[0];
  const excludeField = fields.get("exclude");
  const exclude = excludeField ? readAtoms(ctx, excludeField, COPY_RULES.usage.exclude!) : [];
  if (from === undefined || src === undefined || dst === undefined || exclude === undefined) {
    return undefined;
  }
  return { op: "copy", from, src, dst, exclude };
}
