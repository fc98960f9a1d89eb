import {
  type OptionSpec,
  type OptionValues,
  parseCommandArgs as parseArgsFor,
} from "@strata/cli-kit";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";

/** One `strata-image` subcommand; list it in `src/commands/index.ts`. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** Flag parsing shared with the other app, naming `strata-image` in its messages. */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  command: string,
  argv: readonly string[],
  options: T,
): { values: OptionValues<T>; positionals: string[] } {
  return parseArgsFor("strata-image", command, argv, options);
}

export function requirePositionals(
  positionals: readonly string[],
  names: readonly string[],
  command: string,
): string[] {
  if (positionals.length !== names.length)
    throw new UsageError(`expected ${names.join(" ")}; see "strata-image ${command} --help"`);
  return [...positionals];
}

export type { OptionSpec };
