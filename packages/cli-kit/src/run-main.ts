import { type Command, formatCommandHelp, formatProgramHelp } from "./command.js";
import { exitCodeFor } from "./exit-code-table.js";
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from "./exit-codes.js";
import { runWithInterrupt, stopSignalOf } from "./interrupt.js";
import { type CliIo, createProcessIo } from "./io.js";
import {
  isAbortError,
  isKnownError,
  type KnownError,
  type KnownErrorClass,
} from "./known-error.js";
import { nearestName } from "./nearest-name.js";
import { parseCommandArgs } from "./parse-args.js";
import { UsageError } from "./usage-error.js";

/** An app: its name, its commands and the error classes it reports as known. */
export interface Program {
  /** The binary's name, used in help and every message. */
  readonly name: string;
  /** What `--version` prints after the name (the app's package version). */
  readonly version: string;
  /** In `--help` order. */
  readonly commands: readonly Command[];
  /** Base classes of the errors the app's packages throw on purpose (with a mapped `code`). */
  readonly knownErrors: readonly KnownErrorClass[];
  /** A known error's text on stderr when the one-line message does not fit (spec problems). */
  readonly describeError?: (error: KnownError) => string | undefined;
}

function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/** A command's exit status, and whether it stands even after a stop signal (a service's). */
interface Outcome {
  readonly code: number;
  readonly service?: boolean;
}

async function dispatch(program: Program, argv: readonly string[], io: CliIo): Promise<Outcome> {
  const { commands } = program;
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(formatProgramHelp(program.name, commands));
    return { code: EXIT_USAGE };
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(formatProgramHelp(program.name, commands));
    return { code: EXIT_OK };
  }
  if (name === "--version") {
    if (rest.length > 0) throw new UsageError(`"--version" takes no arguments`);
    io.stdout.write(`${program.name} ${program.version}\n`);
    return { code: EXIT_OK };
  }
  const command = commands.find((c) => c.name === name || c.aliases?.includes(name));
  if (command === undefined) throw unknownCommand(program, name);
  if (wantsHelp(rest)) {
    io.stdout.write(formatCommandHelp(program.name, command));
    return { code: EXIT_OK };
  }
  const args = parseCommandArgs(program.name, command.name, rest, command.options);
  checkArgumentCount(program.name, command, args.positionals);
  return { code: await command.run(args, io), service: command.service === true };
}

function unknownCommand(program: Program, name: string): UsageError {
  const hint = `see "${program.name} --help"`;
  if (name.startsWith("-")) return new UsageError(`unknown option "${name}"; ${hint}`);
  const names = program.commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const nearest = nearestName(name, names);
  const suggestion = nearest === undefined ? "" : ` Did you mean "${nearest}"?`;
  return new UsageError(`unknown command "${name}"; ${hint}.${suggestion}`);
}

function checkArgumentCount(program: string, command: Command, positionals: readonly string[]) {
  const max = command.maxArguments;
  const hint = `see "${program} ${command.name} --help"`;
  const needed = command.arguments ?? [];
  if (positionals.length < needed.length)
    throw new UsageError(`expected ${needed.join(" ")}; ${hint}`);
  if (positionals.length > max) {
    const extra = positionals[max]!;
    throw new UsageError(
      max === 0
        ? `"${program} ${command.name}" takes no arguments, got "${extra}"; ${hint}`
        : `unexpected argument "${extra}"; ${hint}`,
    );
  }
}

/** What a stopped command prints: which signal stopped it, when one did. */
function interrupted(program: Program, io: CliIo): string {
  const stop = stopSignalOf(io.signal);
  return `${program.name}: ${stop ? `interrupted by ${stop}` : "interrupted"}\n`;
}

function reportError(program: Program, error: unknown, io: CliIo): number {
  if (isAbortError(error)) {
    io.stderr.write(interrupted(program, io));
    return EXIT_INTERRUPTED;
  }
  if (!isKnownError(error, program.knownErrors)) {
    const text = error instanceof Error ? error.stack : String(error);
    io.stderr.write(`${program.name}: unexpected error; please report it\n${text}\n`);
    return EXIT_FAILURE;
  }
  const exit = exitCodeFor(error.code);
  if (exit === EXIT_INTERRUPTED) io.stderr.write(interrupted(program, io));
  else io.stderr.write(program.describeError?.(error) ?? `${program.name}: ${error.message}\n`);
  return exit;
}

/**
 * The single error boundary of an app: dispatches `argv` to a command and turns every outcome
 * into an exit status. Known errors print a short message, unexpected ones their stack.
 */
export async function runMain(
  program: Program,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  try {
    const { code, service } = await dispatch(program, argv, io);
    if (!io.signal.aborted || service) return code;
    io.stderr.write(interrupted(program, io));
    return EXIT_INTERRUPTED;
  } catch (error) {
    if (!io.signal.aborted) return reportError(program, error, io);
    io.stderr.write(interrupted(program, io));
    return EXIT_INTERRUPTED;
  }
}

/**
 * A binary's entry: SIGINT, SIGTERM or SIGHUP abort the work (VMs are stopped, temp files
 * removed), then the process exits with 130, 143 or 129.
 */
function startProgram(program: Program): Promise<never> {
  return runWithInterrupt((signal) =>
    runMain(program, process.argv.slice(2), createProcessIo(signal)),
  );
}

/** An app's two entry points, both over one {@link Program}. */
export interface ProgramEntry {
  /** Runs `argv` and resolves to the exit status; tests may give another command table. */
  readonly main: (
    argv: readonly string[],
    io: CliIo,
    commands?: readonly Command[],
  ) => Promise<number>;
  /** The binary's entry (see {@link startProgram}). */
  readonly start: () => Promise<never>;
}

/** The `main` and `start` of an app, so that both apps run the same way. */
export function programEntry(program: Program): ProgramEntry {
  return {
    main: (argv, io, commands = program.commands) => runMain({ ...program, commands }, argv, io),
    start: () => startProgram(program),
  };
}
