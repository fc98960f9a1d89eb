/** A place in a source file; line and column are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One thing wrong with a spec, with its place and a message saying what was expected. */
export interface SpecProblem extends SourceLocation {
  readonly message: string;
}

/** The file name used when none is given. */
export const DEFAULT_SPEC_FILE = "<spec>";

/** Renders a problem as `file:line:col: message`. */
export function formatProblem(problem: SpecProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.message}`;
}
