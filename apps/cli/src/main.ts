import { createRequire } from "node:module";
import { type KnownError, type Program, type ProgramEntry, programEntry } from "@strata/cli-kit";
import { SpecError } from "@strata/spec-parser";
import { commands as allCommands } from "./commands/index.js";
import { KNOWN_ERRORS, SpecFileError } from "./errors.js";
import { renderProblems } from "./render-problems.js";

/** Spec problems print each with its line; every other known error as one line. */
function describeError(error: KnownError): string | undefined {
  if (error instanceof SpecFileError) return renderProblems(error.problems, error.source);
  if (error instanceof SpecError) return renderProblems(error.problems, undefined);
  return undefined;
}

/** This package's version (src/ and dist/ both sit beside package.json). */
export const VERSION: string = createRequire(import.meta.url)("../package.json").version;

/** `strata`: its commands and the base classes of the errors it reports as known. */
export const PROGRAM: Program = {
  name: "strata",
  version: VERSION,
  commands: allCommands,
  knownErrors: KNOWN_ERRORS,
  describeError,
};

/** `strata ARGV` resolving to its exit status, and the binary's entry; the runtime is cli-kit's. */
export const { main, start }: ProgramEntry = programEntry(PROGRAM);
