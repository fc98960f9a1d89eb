import type { ChildBuild, Op, Spec, SpecLocations } from "./ast.js";
import { checkSpec } from "./check-spec.js";
import { SpecError, type SpecErrorCode } from "./errors.js";
import { describeNode, formatPlace, headOf, ParseContext } from "./parse-context.js";
import { parseOp } from "./parse-op.js";
import { DEFAULT_SPEC_FILE, type SpecProblem } from "./problem.js";
import { readSexp } from "./read-sexp.js";
import type { SexpNode } from "./sexp.js";

const SPEC_USAGE = "((build NAME SPEC)... (from BASE) OP...)";

/** Options for {@link parseSpec}. */
export interface ParseSpecOptions {
  /**
   * File name put in problems and locations.
   * @default "<spec>"
   */
  readonly file?: string;
}

/** A parsed spec with the source place of its nodes, or every problem found. */
export type SpecResult =
  | {
      readonly ok: true;
      readonly spec: Spec;
      readonly locations: SpecLocations;
      /**
       * What OBuilder's parser accepts but a build refuses (see {@link checkSpec}): `build` stops
       * on these before any VM, `fmt` shows them as warnings, `dockerfile` converts anyway.
       */
      readonly buildProblems: readonly SpecProblem[];
    }
  | { readonly ok: false; readonly code: SpecErrorCode; readonly problems: readonly SpecProblem[] };

function parseBuild(ctx: ParseContext, node: SexpNode, scope: readonly string[]) {
  const [, name, body, extra] = node.kind === "list" ? node.items : [];
  if (name?.kind !== "atom" || body === undefined || extra !== undefined) {
    return ctx.report(node, "expected (build NAME SPEC)");
  }
  const spec = parseStage(ctx, body, scope);
  if (spec === undefined) return undefined;
  const build: ChildBuild = { name: name.value, spec };
  return ctx.locate(build, node);
}

function parseFrom(ctx: ParseContext, node: SexpNode) {
  const [, base, extra] = node.kind === "list" ? node.items : [];
  if (base?.kind !== "atom" || extra !== undefined) return ctx.report(node, "expected (from BASE)");
  return base.value;
}

/** Parses `((build NAME SPEC)* (from BASE) OP*)`; builds see `outer` plus earlier siblings. */
function parseStage(ctx: ParseContext, node: SexpNode, outer: readonly string[]): Spec | undefined {
  if (node.kind !== "list") {
    return ctx.report(node, `expected a spec ${SPEC_USAGE}, found ${describeNode(node)}`);
  }
  const problemsBefore = ctx.problems.length;
  const scope = [...outer];
  const builds: ChildBuild[] = [];
  const ops: Op[] = [];
  let from: { base: string | undefined; node: SexpNode } | undefined;
  let firstOp: SexpNode | undefined;
  for (const item of node.items) {
    const head = headOf(item);
    if (head === "build") {
      if (from !== undefined || firstOp !== undefined) {
        const after = from ?? { node: firstOp! };
        ctx.report(
          item,
          `(build ...) must come before (from BASE) and the operations (see ${formatPlace(after.node)})`,
        );
      }
      const build = parseBuild(ctx, item, scope);
      if (build !== undefined) builds.push(build);
      if (item.kind === "list" && item.items[1]?.kind === "atom") scope.push(item.items[1].value);
    } else if (head === "from") {
      if (from !== undefined) {
        ctx.report(item, `duplicate (from BASE); the first one is at ${formatPlace(from.node)}`);
      } else {
        if (firstOp !== undefined) {
          ctx.report(
            item,
            `(from BASE) must come before the first operation (at ${formatPlace(firstOp)})`,
          );
        }
        from = { base: parseFrom(ctx, item), node: item };
      }
    } else {
      firstOp ??= item;
      const op = parseOp(ctx, item, scope);
      if (op !== undefined) ops.push(op);
    }
  }
  if (from === undefined) ctx.report(node, `missing (from BASE): a spec is ${SPEC_USAGE}`);
  if (ctx.problems.length > problemsBefore || from?.base === undefined) return undefined;
  return ctx.locate({ builds, from: from.base, ops }, node);
}

/**
 * Reads and validates a spec file. Returns every problem found (syntax problems stop reading;
 * validation goes on through the whole spec), each with its file, line and column.
 */
export function parseSpec(text: string, options: ParseSpecOptions = {}): SpecResult {
  const file = options.file ?? DEFAULT_SPEC_FILE;
  const read = readSexp(text, { file });
  if (!read.ok) return { ok: false, code: "SPEC_SYNTAX", problems: read.problems };
  const ctx = new ParseContext(file);
  const spec = parseStage(ctx, read.value, []);
  if (spec === undefined || ctx.problems.length > 0) {
    return { ok: false, code: "SPEC_INVALID", problems: ctx.problems };
  }
  return {
    ok: true,
    spec,
    locations: ctx.locations,
    buildProblems: checkSpec(spec, ctx.locations),
  };
}

/**
 * Like {@link parseSpec} for a spec about to be built: throws a {@link SpecError} holding all
 * problems, the build-time ones ({@link checkSpec}) included.
 */
export function parseSpecOrThrow(text: string, options: ParseSpecOptions = {}): Spec {
  const result = parseSpec(text, options);
  if (!result.ok) throw new SpecError(result.code, result.problems);
  if (result.buildProblems.length > 0) throw new SpecError("SPEC_INVALID", result.buildProblems);
  return result.spec;
}
