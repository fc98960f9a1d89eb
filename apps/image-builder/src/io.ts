/** Where a command writes, and what it runs in; tests pass captured streams. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Progress bars and redrawn lines only on a terminal; plain lines otherwise (CI, pipes). */
  readonly isTTY: boolean;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C; long-running commands must pass it on. */
  readonly signal: AbortSignal;
}

export function createProcessIo(signal: AbortSignal): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: Boolean(process.stderr.isTTY) && !process.env.CI,
    cwd: process.cwd(),
    env: process.env,
    signal,
  };
}
