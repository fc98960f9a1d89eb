import { OP_NAMES, type Op, type User, type UserOp } from "./ast.js";
import { didYouMean, listWords } from "./did-you-mean.js";
import {
  describeNode,
  type FieldRules,
  headOf,
  type ParseContext,
  readAtoms,
  readExactAtoms,
  readFields,
} from "./parse-context.js";
import { parseCopy } from "./parse-copy.js";
import { parseRun } from "./parse-run.js";
import type { SexpList, SexpNode } from "./sexp.js";

const USER_USAGE = "(user (uid U) (gid G)) or (user (name N))";

/** The fields of `user`: `uid` with `gid`, or `name` alone. */
export const USER_RULES: FieldRules = {
  owner: "user",
  usage: { uid: "(uid U)", gid: "(gid G)", name: "(name N)" },
  required: [],
};

/**
 * An integer as OCaml's `int_of_string` (so OBuilder's parser) reads it: an optional sign,
 * decimal, `0x`, `0o` or `0b` digits, `_` between digits. Negative ids parse here and are
 * refused by {@link checkSpec}, as OBuilder refuses them only when it builds.
 */
function parseOcamlInt(text: string): number | undefined {
  const match =
    /^([+-]?)(0[xX][0-9a-fA-F][0-9a-fA-F_]*|0[oO][0-7][0-7_]*|0[bB][01][01_]*|[0-9][0-9_]*)$/.exec(
      text,
    );
  if (!match) return undefined;
  const digits = match[2]!.replaceAll("_", "");
  const radix = { x: 16, o: 8, b: 2 }[digits[1]?.toLowerCase() ?? ""] as number | undefined;
  const body = radix === undefined ? digits : digits.slice(2);
  let value = 0;
  for (const ch of body) value = value * (radix ?? 10) + Number.parseInt(ch, radix ?? 10);
  if (!Number.isSafeInteger(value)) return undefined;
  return match[1] === "-" && value !== 0 ? -value : value;
}

function parseId(ctx: ParseContext, field: SexpList | undefined, name: string) {
  if (field === undefined) return undefined;
  const text = readExactAtoms(ctx, field, 1, `(${name} N)`)?.[0];
  if (text === undefined) return undefined;
  const value = parseOcamlInt(text);
  if (value === undefined) {
    return ctx.report(
      field.items[1] ?? field,
      `user: expected an integer ${name}, found "${text}"`,
    );
  }
  return value;
}

function parseUser(ctx: ParseContext, node: SexpList): UserOp | undefined {
  const fields = readFields(ctx, node, node.items.slice(1), USER_RULES);
  const nameField = fields.get("name");
  let user: User | undefined;
  if (nameField !== undefined && fields.size === 1) {
    const name = readExactAtoms(ctx, nameField, 1, "(name N)")?.[0];
    if (name !== undefined) user = { name };
  } else if (nameField === undefined && fields.has("uid") && fields.has("gid")) {
    const uid = parseId(ctx, fields.get("uid"), "uid");
    const gid = parseId(ctx, fields.get("gid"), "gid");
    if (uid !== undefined && gid !== undefined) user = { uid, gid };
  } else if (node.items.length - 1 === fields.size) {
    // Only report the form when each field was fine on its own, to avoid piling up messages.
    ctx.report(node, `user: expected ${USER_USAGE}`);
  }
  return user && { op: "user", user };
}

function parseKnownOp(
  ctx: ParseContext,
  name: string,
  node: SexpList,
  scope: readonly string[],
): Op | undefined {
  switch (name) {
    case "comment": {
      const text = readExactAtoms(ctx, node, 1, '(comment "TEXT")')?.[0];
      return text === undefined ? undefined : { op: "comment", text };
    }
    case "workdir": {
      const dir = readExactAtoms(ctx, node, 1, "(workdir DIR)")?.[0];
      return dir === undefined ? undefined : { op: "workdir", dir };
    }
    case "shell": {
      const args = readAtoms(ctx, node, "(shell ARG...)");
      return args && { op: "shell", args };
    }
    case "env": {
      const [envName, value] = readExactAtoms(ctx, node, 2, "(env NAME VALUE)") ?? [];
      return envName === undefined || value === undefined
        ? undefined
        : { op: "env", name: envName, value };
    }
    case "run":
      return parseRun(ctx, node);
    case "copy":
      return parseCopy(ctx, node, scope);
    case "user":
      return parseUser(ctx, node);
    default:
      return undefined;
  }
}

/** Parses one operation; `scope` holds the names of the builds it may copy from. */
export function parseOp(
  ctx: ParseContext,
  node: SexpNode,
  scope: readonly string[],
): Op | undefined {
  const name = headOf(node);
  if (name === undefined || node.kind !== "list") {
    return ctx.report(
      node,
      `expected an operation such as (run (shell "COMMAND")), found ${describeNode(node)}`,
    );
  }
  if (!(OP_NAMES as readonly string[]).includes(name)) {
    const known = listWords(OP_NAMES);
    return ctx.report(
      node.items[0]!,
      `unknown operation "${name}"; expected ${known}.${didYouMean(name, OP_NAMES)}`,
    );
  }
  const op = parseKnownOp(ctx, name, node, scope);
  return op && ctx.locate(op, node);
}
