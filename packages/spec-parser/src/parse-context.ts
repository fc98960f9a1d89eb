import type { SpecLocations } from "./ast.js";
import { didYouMean, listWords } from "./did-you-mean.js";
import type { SpecProblem } from "./problem.js";
import type { SexpList, SexpNode } from "./sexp.js";

interface Place {
  readonly line: number;
  readonly column: number;
}

/** Collects problems and source places while a spec is turned into its AST. */
export class ParseContext {
  readonly problems: SpecProblem[] = [];
  readonly locations: SpecLocations = new WeakMap();

  constructor(readonly file: string) {}

  /** Records a problem; returns `undefined` so callers can `return ctx.report(...)`. */
  report(at: Place, message: string): undefined {
    this.problems.push({ file: this.file, line: at.line, column: at.column, message });
    return undefined;
  }

  /** Remembers where `node` came from and returns it. */
  locate<T extends object>(node: T, at: Place): T {
    this.locations.set(node, { file: this.file, line: at.line, column: at.column });
    return node;
  }
}

/** A short description of a node for messages: `atom "x"`, `(x ...)`, `()`. */
export function describeNode(node: SexpNode): string {
  if (node.kind === "atom") return `atom ${JSON.stringify(node.value)}`;
  const head = node.items[0];
  if (head === undefined) return "()";
  return head.kind === "atom" ? `(${head.value} ...)` : "a list";
}

/** The head atom of a list, if it has one. */
export function headOf(node: SexpNode): string | undefined {
  if (node.kind !== "list") return undefined;
  const head = node.items[0];
  return head?.kind === "atom" ? head.value : undefined;
}

export function formatPlace(at: Place): string {
  return `${at.line}:${at.column}`;
}

/** Rules for a record: each allowed field name with its usage text, and the required ones. */
export interface FieldRules {
  readonly owner: string;
  readonly usage: Readonly<Record<string, string>>;
  readonly required: readonly string[];
}

/**
 * Reads `(name value...)` fields in any order from `items`, reporting fields that are not lists,
 * unknown, duplicated or missing. Returns the fields found (first occurrence of each).
 */
export function readFields(
  ctx: ParseContext,
  owner: SexpList,
  items: readonly SexpNode[],
  rules: FieldRules,
): Map<string, SexpList> {
  const fields = new Map<string, SexpList>();
  const names = Object.keys(rules.usage);
  for (const item of items) {
    const name = headOf(item);
    if (name === undefined || item.kind !== "list") {
      ctx.report(
        item,
        `${rules.owner}: expected a field such as ${rules.usage[names[0]!]}, found ${describeNode(item)}`,
      );
      continue;
    }
    if (!Object.hasOwn(rules.usage, name)) {
      ctx.report(
        item,
        `${rules.owner}: unknown field "${name}"; expected ${listWords(names)}.${didYouMean(name, names)}`,
      );
      continue;
    }
    const first = fields.get(name);
    if (first !== undefined) {
      ctx.report(
        item,
        `${rules.owner}: duplicate field "${name}"; the first one is at ${formatPlace(first)}`,
      );
      continue;
    }
    fields.set(name, item);
  }
  for (const name of rules.required) {
    if (!fields.has(name)) ctx.report(owner, `${rules.owner}: missing field ${rules.usage[name]}`);
  }
  return fields;
}

/** The atoms after the head of `list`, or `undefined` (reported) if any item is a list. */
export function readAtoms(ctx: ParseContext, list: SexpList, usage: string): string[] | undefined {
  const values: string[] = [];
  let ok = true;
  for (const item of list.items.slice(1)) {
    if (item.kind === "atom") values.push(item.value);
    else
      ok = ctx.report(item, `expected an atom in ${usage}, found ${describeNode(item)}`) ?? false;
  }
  return ok ? values : undefined;
}

/** The atoms after the head of `list` when there are exactly `count` of them. */
export function readExactAtoms(
  ctx: ParseContext,
  list: SexpList,
  count: number,
  usage: string,
): string[] | undefined {
  const values = readAtoms(ctx, list, usage);
  if (values === undefined) return undefined;
  if (values.length !== count) {
    const what = count === 1 ? "one atom" : `${count} atoms`;
    return ctx.report(
      list,
      `expected ${usage}: ${what} after "${headOf(list)}", found ${values.length}`,
    );
  }
  return values;
}
