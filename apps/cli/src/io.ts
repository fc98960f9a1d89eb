/** Where a command writes, and what it runs in; tests pass captured streams. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Directory that relative paths are resolved against. */
  readonly cwd: string;
  /** Aborted on Ctrl-C; long-running commands must pass it on. */
  readonly signal: AbortSignal;
}

/** The real process streams and working directory. */
export function createProcessIo(signal: AbortSignal): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), signal };
}
