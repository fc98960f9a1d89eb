import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";
import type { CliIo } from "./io.js";

/** One `strata-image` subcommand; list it in `src/commands/index.ts`. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
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

/** `node:util` parseArgs with exact messages naming the flag (as apps/cli does). */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  command: string,
  argv: readonly string[],
  options: T,
): { values: Values<T>; positionals: string[] } {
  const hint = `; see "strata-image ${command} --help"`;
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
      throw new UsageError(
        `unknown option "${token.rawName}" for "strata-image ${command}"${hint}`,
      );
    if (spec.type === "string" && token.value === undefined)
      throw new UsageError(`option "${token.rawName}" needs a value${hint}`);
    if (spec.type === "boolean" && token.inlineValue)
      throw new UsageError(`option "${token.rawName}" takes no value${hint}`);
  }
  const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  return { values: parsed.values as Values<T>, positionals: parsed.positionals };
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
