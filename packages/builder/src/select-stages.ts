import type { ChildBuild, Op, Spec } from "@strata/spec-parser";
import { BuildError } from "./errors.js";

/** The names of a spec's child builds (stages), in the order they are declared. */
export function listStages(spec: Spec): string[] {
  return spec.builds.map((b) => b.name);
}

function stagesCopiedFrom(ops: readonly Op[]): string[] {
  const names: string[] = [];
  for (const op of ops) if (op.op === "copy" && op.from !== "context") names.push(op.from.build);
  return names;
}

/**
 * The child builds a build must run, in declaration order: all of them for the whole spec, or
 * for `target` that stage and the stages it copies from (transitively). An unknown `target`
 * is a SPEC_INVALID error naming the stages there are.
 */
export function selectStages(spec: Spec, target: string | undefined): ChildBuild[] {
  if (target === undefined) return [...spec.builds];
  const byName = new Map(spec.builds.map((b) => [b.name, b]));
  if (!byName.has(target)) {
    const names = listStages(spec);
    throw new BuildError(
      "SPEC_INVALID",
      names.length === 0
        ? `no stage "${target}": the spec has no named builds`
        : `no stage "${target}"; the spec's stages are: ${names.join(", ")}`,
    );
  }
  const needed = new Set<string>();
  const visit = (name: string) => {
    const child = byName.get(name);
    if (!child || needed.has(name)) return;
    needed.add(name);
    for (const from of stagesCopiedFrom(child.spec.ops)) visit(from);
  };
  visit(target);
  return spec.builds.filter((b) => needed.has(b.name));
}
