import { shouldUseColor } from "./output-options.js";

/** Where a command writes and what it runs in; tests pass captured streams. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Progress bars and redrawn lines only on a terminal; plain lines otherwise (CI, pipes). */
  readonly isTTY: boolean;
  /** Width of the terminal, for lines redrawn in place. @default 80 */
  readonly columns?: number | undefined;
  /** Colour on: a terminal, no `NO_COLOR`, no `TERM=dumb` (see {@link shouldUseColor}). */
  readonly color: boolean;
  /** Directory that relative paths are resolved against. */
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C; long-running commands must pass it on. */
  readonly signal: AbortSignal;
  /** What `-f -` reads; absent where there is no input (it reads as empty). */
  readonly stdin?: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;
}

/** The real process streams, working directory and environment. */
export function createProcessIo(signal: AbortSignal): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: Boolean(process.stderr.isTTY) && !process.env.CI,
    columns: process.stderr.columns,
    color: shouldUseColor(Boolean(process.stdout.isTTY && process.stderr.isTTY), process.env),
    cwd: process.cwd(),
    env: process.env,
    signal,
    stdin: process.stdin,
  };
}

/** A {@link CliIo} that records what a command writes, for tests and embedding. */
export function captureIo(
  cwd: string,
  options: {
    signal?: AbortSignal;
    isTTY?: boolean;
    columns?: number;
    color?: boolean;
    env?: NodeJS.ProcessEnv;
    stdin?: string | Uint8Array;
  } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    isTTY: options.isTTY ?? false,
    columns: options.columns,
    color: options.color ?? false,
    cwd,
    env: options.env ?? {},
    signal: options.signal ?? new AbortController().signal,
    stdin: [options.stdin ?? ""],
  };
  return { io, stdout: () => out.join(""), stderr: () => err.join("") };
}
