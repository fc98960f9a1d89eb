import { formatProblem, type SpecProblem } from "@strata/spec-parser";

/**
 * `file:line:col: message` (`warning: message` for warnings), then the source line and a caret under the column, for each problem.
 * Tabs before the column are kept so the caret lines up in a terminal.
 */
export function renderProblems(
  problems: readonly SpecProblem[],
  source: string | undefined,
  severity: "error" | "warning" = "error",
): string {
  const lines = source?.split(/\r?\n/) ?? [];
  let out = "";
  for (const problem of problems) {
    const shown =
      severity === "warning" ? { ...problem, message: `warning: ${problem.message}` } : problem;
    out += `${formatProblem(shown)}\n`;
    const line = lines[problem.line - 1];
    if (line === undefined) continue;
    const pad = line.slice(0, problem.column - 1).replace(/[^\t]/g, " ");
    out += `  ${line}\n  ${pad}^\n`;
  }
  return out;
}
