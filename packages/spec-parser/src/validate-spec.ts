import type { Spec } from "./ast.js";
import { parseSpec } from "./parse-spec.js";
import { printSpec } from "./print-spec.js";
import type { SpecProblem } from "./problem.js";

/** File name of problems found by {@link validateSpec}: places are in the printed spec. */
export const PRINTED_SPEC_FILE = "<printed spec>";

/**
 * Checks a spec made in code with the same rules as a parsed one (build names in scope, copy
 * destinations, `..` in sources, numeric ids...). Problems point into `printSpec(spec)`.
 */
export function validateSpec(spec: Spec): readonly SpecProblem[] {
  const result = parseSpec(printSpec(spec), { file: PRINTED_SPEC_FILE });
  return result.ok ? result.buildProblems : result.problems;
}
