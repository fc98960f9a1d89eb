import { formatProblem, type SpecProblem } from "./problem.js";

export type SpecErrorCode = "SPEC_SYNTAX" | "SPEC_INVALID";

/** A spec that could not be read (`SPEC_SYNTAX`) or does not describe a valid build (`SPEC_INVALID`). */
export class SpecError extends Error {
  override readonly name = "SpecError";
  readonly code: SpecErrorCode;
  readonly problems: readonly SpecProblem[];

  constructor(code: SpecErrorCode, problems: readonly SpecProblem[], options?: ErrorOptions) {
    const first = problems[0];
    const head = first === undefined ? "invalid spec" : formatProblem(first);
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : "";
    super(`${head}${more}; fix the spec and try again`, options);
    this.code = code;
    this.problems = problems;
  }
}

/** A spec that has no Dockerfile equivalent, e.g. a buildkit mount for a user given by name. */
export class DockerfileError extends Error {
  override readonly name = "DockerfileError";
  readonly code = "DOCKERFILE_UNSUPPORTED";
}
