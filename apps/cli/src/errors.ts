import type { SpecProblem } from "@strata/spec-parser";

export { UsageError } from "@strata/cli-kit";

/** An input file that cannot be read. Exit code 2. */
export class InputError extends Error {
  override readonly name = "InputError";
  readonly code = "INPUT_UNREADABLE";
}

/** A spec file with syntax or validation problems, with its text so problems can show the line. */
export class SpecFileError extends Error {
  override readonly name = "SpecFileError";

  constructor(
    readonly code: "SPEC_SYNTAX" | "SPEC_INVALID",
    readonly problems: readonly SpecProblem[],
    readonly source: string,
  ) {
    super(`${problems[0]?.file ?? "spec"}: ${problems.length} problem(s); fix them and try again`);
  }
}
