import { parseArgs } from "node:util";
import { UsageError } from "./usage-error.js";

/** One flag: how `node:util` parseArgs reads it, and how help describes it. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in help, e.g. `SPEC`. @default "VALUE" */
  readonly value?: string;
  /** What the flag does, for the command's help; a `\n` starts an indented line. */
  readonly help?: string;
}

export type OptionValues<T extends Record<string, OptionSpec>> = {
  [K in keyof T]?: T[K]["type"] extends "string"
    ? T[K]["multiple"] extends true
      ? string[]
      : string
    : boolean;
};

/**
 * `node:util` parseArgs with exact messages naming the flag: unknown options, missing values and
 * values given to boolean flags are {@link UsageError}s that point at `PROGRAM COMMAND --help`.
 */
export function parseCommandArgs<T extends Record<string, OptionSpec>>(
  program: string,
  command: string,
  argv: readonly string[],
  options: T,
): { values: OptionValues<T>; positionals: string[] } {
  const hint = `; see "${program} ${command} --help"`;
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
      throw new UsageError(`unknown option "${token.rawName}" for "${program} ${command}"${hint}`);
    if (spec.type === "string" && token.value === undefined)
      throw new UsageError(`option "${token.rawName}" needs a value${hint}`);
    if (spec.type === "boolean" && token.inlineValue)
      throw new UsageError(`option "${token.rawName}" takes no value${hint}`);
  }
  const parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  return { values: parsed.values as OptionValues<T>, positionals: parsed.positionals };
}
