import type { ChildBuild, CopyOp, Mount, Op, RunOp, Spec } from "./ast.js";
import { printAtom, printOneLine, type SexpTree } from "./quote-atom.js";

/** OCaml's Format margin, which OBuilder's printer relies on for `copy`. */
const MARGIN = 78;

function mountTree(mount: Mount): SexpTree {
  const fields: SexpTree[] = [mount.id, ["target", mount.target]];
  if (mount.buildkitOptions.length > 0) {
    fields.push(["buildkit_options", ...mount.buildkitOptions.map(([key, value]) => [key, value])]);
  }
  return fields;
}

function runFields(op: RunOp): SexpTree[] {
  const fields: SexpTree[] = [];
  if (op.cache.length > 0) fields.push(["cache", ...op.cache.map(mountTree)]);
  if (op.network.length > 0) fields.push(["network", ...op.network]);
  if (op.secrets.length > 0) fields.push(["secrets", ...op.secrets.map(mountTree)]);
  fields.push(["shell", op.shell]);
  return fields;
}

function copyFields(op: CopyOp): SexpTree[] {
  const fields: SexpTree[] = [];
  if (op.from !== "context") fields.push(["from", ["build", op.from.build]]);
  fields.push(["src", ...op.src], ["dst", op.dst]);
  if (op.exclude.length > 0) fields.push(["exclude", ...op.exclude]);
  return fields;
}

/** The S-expression of an op other than `run` and `copy`, which have their own layout. */
function simpleTree(op: Exclude<Op, RunOp | CopyOp>): SexpTree {
  switch (op.op) {
    case "comment":
      return ["comment", op.text];
    case "workdir":
      return ["workdir", op.dir];
    case "shell":
      return ["shell", ...op.args];
    case "env":
      return ["env", op.name, op.value];
    case "user":
      return "name" in op.user
        ? ["user", ["name", op.user.name]]
        : ["user", ["uid", String(op.user.uid)], ["gid", String(op.user.gid)]];
  }
}

function indent(column: number): string {
  return `\n${" ".repeat(column)}`;
}

/** Prints one op starting at `column` (0-based); continuation lines are indented absolutely. */
function printOp(op: Op, column: number): string {
  if (op.op === "run") {
    // `(run @[<v>...@])`: one field per line, aligned under the first.
    return `(run ${runFields(op)
      .map(printOneLine)
      .join(indent(column + 5))})`;
  }
  if (op.op === "copy") {
    // `(copy @[<hv>...@])`: Format keeps the box flat only if it ends before the margin,
    // which is the same as the whole line, closing paren included, fitting in 78 columns.
    const fields = copyFields(op).map(printOneLine);
    const flat = `(copy ${fields.join(" ")})`;
    if (column + flat.length <= MARGIN) return flat;
    return `(copy ${fields.join(indent(column + 6))})`;
  }
  return printOneLine(simpleTree(op));
}

function printBuild(build: ChildBuild, column: number): string {
  // `(build @[<v>NAME@,(@[<v>ITEMS@])@])`
  const inner = column + 7;
  return `(build ${printAtom(build.name)}${indent(inner)}(${printItems(build.spec, inner + 1)}))`;
}

/** The items of a spec, separated by newlines and aligned at `column`. */
function printItems(spec: Spec, column: number): string {
  const items = [
    ...spec.builds.map((build) => printBuild(build, column)),
    printOneLine(["from", spec.from]),
    ...spec.ops.map((op) => printOp(op, column)),
  ];
  return items.join(indent(column));
}

/**
 * Prints a spec in OBuilder's canonical layout, ending with a newline: a spec that OBuilder
 * printed reads and prints back byte for byte, and parsing the output gives back an equal spec.
 */
export function printSpec(spec: Spec): string {
  return `(${printItems(spec, 1)}\n)\n`;
}

/** Prints one operation in the canonical layout, as the first item of a spec would be. */
export function printOperation(op: Op): string {
  return printOp(op, 0);
}
