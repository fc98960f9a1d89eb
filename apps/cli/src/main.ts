import { runWithInterrupt } from "@strata/cli-kit";
import type { Command } from "./command.js";
import { commands as allCommands } from "./commands/index.js";
import { UsageError } from "./errors.js";
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exitCodeFor } from "./exit-codes.js";
import { type CliIo, createProcessIo } from "./io.js";
import { renderProblems } from "./render-problems.js";

function globalHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return `usage: strata COMMAND [OPTIONS]\n\ncommands:\n${list}\n\nRun "strata COMMAND --help" for a command's options.\n`;
}

function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

/** A known error: anything carrying a string `code`, as every package's errors do. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

function reportError(error: unknown, io: CliIo): number {
  const code = errorCode(error);
  if (code === undefined) {
    io.stderr.write(
      `strata: unexpected error; please report it\n${error instanceof Error ? error.stack : String(error)}\n`,
    );
    return 1;
  }
  const exit = exitCodeFor(code);
  if (exit === EXIT_INTERRUPTED) {
    io.stderr.write("strata: interrupted\n");
  } else if (
    typeof error === "object" &&
    error !== null &&
    "problems" in error &&
    Array.isArray(error.problems)
  ) {
    const source = "source" in error && typeof error.source === "string" ? error.source : undefined;
    io.stderr.write(renderProblems(error.problems, source));
  } else {
    io.stderr.write(`strata: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  return exit;
}

async function dispatch(
  argv: readonly string[],
  io: CliIo,
  commands: readonly Command[],
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(globalHelp(commands));
    return EXIT_USAGE;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(globalHelp(commands));
    return EXIT_OK;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    const kind = name.startsWith("-") ? "option" : "command";
    const names = commands.map((c) => c.name).join(", ");
    throw new UsageError(`unknown ${kind} "${name}"; commands: ${names}; see "strata --help"`);
  }
  if (wantsHelp(rest)) {
    io.stdout.write(command.usage);
    return EXIT_OK;
  }
  return command.run(rest, io);
}

/**
 * The single error boundary: runs a command and turns every outcome into an exit code. Known
 * errors (with a string `code`) print a short message; unexpected ones print their stack.
 */
export async function main(
  argv: readonly string[],
  io: CliIo,
  commands: readonly Command[] = allCommands,
): Promise<number> {
  try {
    const code = await dispatch(argv, io, commands);
    return io.signal.aborted ? EXIT_INTERRUPTED : code;
  } catch (error) {
    if (!io.signal.aborted) return reportError(error, io);
    io.stderr.write("strata: interrupted\n");
    return EXIT_INTERRUPTED;
  }
}

/** Entry of the `strata` binary: wires Ctrl-C to an AbortSignal and exits with main's code. */
export function start(): Promise<never> {
  return runWithInterrupt((signal) => main(process.argv.slice(2), createProcessIo(signal)));
}
