import { createRequire } from "node:module";
import type { CliIo } from "@strata/cli-kit";
import {
  type Command,
  type KnownError,
  type Program,
  runMain,
  startProgram,
} from "@strata/cli-kit";
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

/** Runs `strata ARGV` and resolves to its exit status; the runtime is cli-kit's. */
export function main(
  argv: readonly string[],
  io: CliIo,
  commands: readonly Command[] = allCommands,
): Promise<number> {
  return runMain({ ...PROGRAM, commands }, argv, io);
}

/** Entry of the `strata` binary: wires Ctrl-C to an AbortSignal and exits with main's code. */
export function start(): Promise<never> {
  return startProgram(PROGRAM);
}
