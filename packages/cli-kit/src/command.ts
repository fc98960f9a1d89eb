import type { CliIo } from "./io.js";
import type { OptionSpec, OptionValues } from "./parse-args.js";

/** A command's flags; every one carries its help line, from which `--help` is generated. */
export type OptionTable = Readonly<Record<string, OptionSpec & { readonly help: string }>>;

/** What a positional argument is, for shell completion. */
export type ArgumentKind = "layer" | "file" | "dir" | "image" | "none" | readonly string[];

/** The parsed command line a command runs with. */
export interface CommandArgs<O extends OptionTable> {
  readonly values: OptionValues<O>;
  readonly positionals: string[];
}

/** One subcommand of an app: its help is generated from these fields. */
export interface Command<O extends OptionTable = OptionTable> {
  readonly name: string;
  /** Other names that run it (`customize` for `customise`). */
  readonly aliases?: readonly string[];
  /** One line for `PROGRAM --help`. */
  readonly summary: string;
  /** What follows `PROGRAM NAME` on the usage line; several forms give several lines. */
  readonly synopsis: string | readonly string[];
  /** Paragraphs between the usage line and the options. */
  readonly description?: string;
  /**
   * The most positional arguments it takes (`Infinity` for a list, `0` for none): the runtime
   * refuses more as a usage error before `run`, so extra arguments are never silently ignored.
   */
  readonly maxArguments: number;
  /**
   * The positionals it needs, by name (`["NAME", "REF"]`): the runtime refuses fewer as a usage
   * error naming them before `run`, which may then count on them. @default none
   */
  readonly arguments?: readonly string[];
  /**
   * What each positional is, for shell completion: `layer` (a layer ID), `file`, `dir`, or a
   * list of words. Indexed by position; the last entry applies to the rest.
   */
  readonly complete?: readonly ArgumentKind[];
  /**
   * A long-running service (`strata worker`): a stop signal is how it normally ends, so the
   * status it returns after one stands (0 after a clean drain, as systemd expects) instead of
   * 130/143/129. An error it throws after a signal is still reported as an interruption.
   * @default false
   */
  readonly service?: boolean;
  readonly options: O;
  /** Runs with the flags parsed (and checked) by the runtime; resolves to the exit status. */
  run(args: CommandArgs<O>, io: CliIo): Promise<number>;
}

/** Keeps a command's option types for `run` while listing it among commands of other shapes. */
export function defineCommand<const O extends OptionTable>(command: Command<O>): Command {
  return command as unknown as Command;
}

function flagColumn(name: string, spec: OptionSpec): string {
  const short = spec.short === undefined ? "" : `-${spec.short}, `;
  const value = spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : "";
  return `${short}--${name}${value}`;
}

/** The options section: flags in a column, help beside them, continuation lines aligned. */
export function formatOptions(options: OptionTable): string {
  const rows = Object.entries(options).map(([name, spec]) => [flagColumn(name, spec), spec.help]);
  const width = Math.max(16, ...rows.map(([flag]) => flag!.length)) + 2;
  return rows
    .map(([flag, help]) => {
      const [first, ...rest] = help!.split("\n");
      const lines = [`  ${flag!.padEnd(width)}${first}`];
      for (const line of rest) lines.push(`  ${" ".repeat(width)}${line}`);
      return `${lines.join("\n")}\n`;
    })
    .join("");
}

/** `PROGRAM NAME --help`: usage line(s), description, options. */
export function formatCommandHelp(program: string, command: Command): string {
  const forms = typeof command.synopsis === "string" ? [command.synopsis] : command.synopsis;
  const usage = forms
    .map((form, i) => `${i === 0 ? "usage:" : "      "} ${program} ${command.name} ${form}`)
    .join("\n");
  const description = command.description ? `\n\n${command.description.trimEnd()}` : "";
  const options = Object.keys(command.options).length
    ? `\n\noptions:\n${formatOptions(command.options)}`
    : "\n";
  return `${usage}${description}${options}`;
}

/** `PROGRAM --help`: the command list. */
export function formatProgramHelp(program: string, commands: readonly Command[]): string {
  const names = commands.map((c) =>
    c.aliases?.length ? `${c.name} (${c.aliases.join(", ")})` : c.name,
  );
  const width = Math.max(...names.map((name) => name.length));
  const list = commands.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`).join("\n");
  return `usage: ${program} COMMAND [OPTIONS]\n       ${program} --version\n\ncommands:\n${list}\n\nRun "${program} COMMAND --help" for a command's options.\n`;
}
