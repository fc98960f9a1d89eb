import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";
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

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
}

type Values<T extends Record<string, OptionSpec>> = {
  [K in keyof T]?: T[K]["type"] extends "string"
    ? T[K]["multiple"] extends true
      ? string[]
      : string
    : boolean;
};

/**
 * `node:util` parseArgs with exact messages naming the flag: unknown options, missing values and
 * values given to boolean flags are {@link UsageError}s that point at `strata NAME --help`.
 */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  command: string,
  argv: readonly string[],
  options: T,
): { values: Values<T>; positionals: string[] } {
  const hint = `; see "strata ${command} --help"`;
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec = options[token.name];
    if (spec === undefined)
      throw new UsageError(`unknown option "${token.rawName}" for "strata ${command}"${hint}`);
    if (spec.type === "string" && token.value === undefined) {
      throw new UsageError(`option "${token.rawName}" needs a value${hint}`);
    }
    if (spec.type === "boolean" && token.inlineValue) {
      throw new UsageError(`option "${token.rawName}" takes no value${hint}`);
    }
  }
  const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  return { values: parsed.values as Values<T>, positionals: parsed.positionals };
}
