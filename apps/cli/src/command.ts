import {
  type OptionSpec,
  type OptionValues,
  parseCommandArgs as parseArgsFor,
} from "@strata/cli-kit";
import type { CliIo } from "./io.js";

/** One `strata` subcommand; list it in `src/commands/index.ts`. */
export interface Command {
  readonly name: string;
  /** One line for `strata --help`. */
  readonly summary: string;
  /** Full help for `strata NAME --help`. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** Flag parsing shared with the other app, naming `strata` in its messages. */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  command: string,
  argv: readonly string[],
  options: T,
): { values: OptionValues<T>; positionals: string[] } {
  return parseArgsFor("strata", command, argv, options);
}

export type { OptionSpec };
