import type { Mount, RunOp } from "./ast.js";
import {
  describeNode,
  type FieldRules,
  type ParseContext,
  readAtoms,
  readExactAtoms,
  readFields,
} from "./parse-context.js";
import type { SexpList } from "./sexp.js";

/** The fields of `run`, with the usage each problem quotes. */
export const RUN_RULES: FieldRules = {
  owner: "run",
  usage: {
    cache: "(cache (ID (target PATH))...)",
    network: "(network host)",
    secrets: "(secrets (ID (target PATH))...)",
    shell: '(shell "COMMAND")',
  },
  required: ["shell"],
};

/** The fields of a cache or secret entry `(ID (target PATH) ...)`. */
export const MOUNT_FIELD_USAGE: Readonly<Record<string, string>> = {
  target: "(target PATH)",
  buildkit_options: "(buildkit_options (KEY VALUE)...)",
};

function mountRules(kind: string): FieldRules {
  return { owner: `${kind} entry`, usage: MOUNT_FIELD_USAGE, required: ["target"] };
}

function parseBuildkitOptions(ctx: ParseContext, field: SexpList) {
  const pairs: (readonly [string, string])[] = [];
  let ok = true;
  for (const item of field.items.slice(1)) {
    const [key, value, extra] = item.kind === "list" ? item.items : [];
    if (key?.kind !== "atom" || value?.kind !== "atom" || extra !== undefined) {
      ok = false;
      ctx.report(
        item,
        `expected a (KEY VALUE) pair in buildkit_options, found ${describeNode(item)}`,
      );
    } else {
      pairs.push([key.value, value.value] as const);
    }
  }
  return ok ? pairs : undefined;
}

function parseMount(ctx: ParseContext, node: SexpList["items"][number], kind: string) {
  const usage = `(${kind === "cache" ? "cache" : "secrets"} (ID (target PATH) (buildkit_options (K V)...)?))`;
  const id = node.kind === "list" ? node.items[0] : undefined;
  if (node.kind !== "list" || id?.kind !== "atom") {
    return ctx.report(
      node,
      `${kind} entry: expected (ID (target PATH)) as in ${usage}, found ${describeNode(node)}`,
    );
  }
  const fields = readFields(ctx, node, node.items.slice(1), mountRules(kind));
  const targetField = fields.get("target");
  const target = targetField && readExactAtoms(ctx, targetField, 1, "(target PATH)")?.[0];
  const optionsField = fields.get("buildkit_options");
  const options = optionsField ? parseBuildkitOptions(ctx, optionsField) : [];
  if (target === undefined || options === undefined) return undefined;
  const mount: Mount = { id: id.value, target, buildkitOptions: options };
  return ctx.locate(mount, node);
}

function parseMounts(ctx: ParseContext, field: SexpList | undefined, kind: string) {
  if (field === undefined) return [];
  const mounts = field.items.slice(1).map((item) => parseMount(ctx, item, kind));
  return mounts.every((mount) => mount !== undefined) ? mounts : undefined;
}

/** `(run (cache C...)? (network N...)? (secrets S...)? (shell "COMMAND"))`, fields in any order. */
export function parseRun(ctx: ParseContext, node: SexpList): RunOp | undefined {
  const fields = readFields(ctx, node, node.items.slice(1), RUN_RULES);
  const shellField = fields.get("shell");
  const shell = shellField && readExactAtoms(ctx, shellField, 1, '(shell "COMMAND")')?.[0];
  const networkField = fields.get("network");
  const network = networkField ? readAtoms(ctx, networkField, "(network host)") : [];
  const cache = parseMounts(ctx, fields.get("cache"), "cache");
  const secrets = parseMounts(ctx, fields.get("secrets"), "secret");
  if (
    shell === undefined ||
    network === undefined ||
    cache === undefined ||
    secrets === undefined
  ) {
    return undefined;
  }
  return { op: "run", cache, network, secrets, shell };
}
