import { type ChildProcess, spawn } from "node:child_process";
import { boundTail } from "@strata/host-tool";

/** A program and its arguments. */
type Command = readonly [program: string, ...args: string[]];

/** How one process of {@link runPiped} ended. */
export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The end of what it wrote to stderr (at most `MAX_TAIL_BYTES`, by `boundTail`). */
  readonly stderr: string;
  /** It could not be started (`ENOENT`...). */
  readonly error?: Error;
}

/** What {@link runPiped} returns. */
interface PipedResult {
  readonly first: ProcessEnd;
  readonly second: ProcessEnd;
  /**
   * The second process's stdout as it was read, when `collect` was asked: not joined, which
   * would take as much fresh memory again (see `hashFileRange` on what that costs).
   */
  readonly stdout: Buffer[];
}

/**
 * Runs `first | second`, the two joined by a kernel pipe (the bytes between them never pass
 * through this process), `first`'s stdin from /dev/null. With `collect`, `second`'s stdout is
 * returned; else it goes to /dev/null. Both are killed when `signal` aborts. The C locale
 * keeps their messages parseable. Not on `@strata/host-tool`'s runner: that one runs a single
 * tool whose output passes through this process; here the bytes go tool to tool.
 */
export async function runPiped(
  first: Command,
  second: Command,
  options: { readonly collect?: boolean; readonly signal?: AbortSignal } = {},
): Promise<PipedResult> {
  const common = {
    env: { ...process.env, LC_ALL: "C" },
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const a = spawn(first[0], first.slice(1), {
    ...common,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const aEnd = processEnded(a);
  const b = spawn(second[0], second.slice(1), {
    ...common,
    stdio: [a.stdout ?? "ignore", options.collect ? "pipe" : "ignore", "pipe"],
  });
  // Only `second` may hold the pipe's read end: when it stops reading early, `first` must get
  // EPIPE instead of blocking on a full pipe that nobody reads.
  a.stdout?.destroy();
  const parts: Buffer[] = [];
  b.stdout?.on("data", (chunk: Buffer) => parts.push(chunk));
  const bEnd = processEnded(b);
  const [firstEnd, secondEnd] = await Promise.all([aEnd, bEnd]);
  return { first: firstEnd, second: secondEnd, stdout: parts };
}

/** How `child` ends, with the end of its stderr (when piped). */
function processEnded(child: ChildProcess): Promise<ProcessEnd> {
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr = boundTail(stderr + text);
  });
  return new Promise((resolve) => {
    let error: Error | undefined;
    child.on("error", (e) => {
      error = e;
      // A child that never started emits no "close" on some paths: settle here too.
      if (child.pid === undefined) resolve({ code: null, signal: null, stderr, error });
    });
    child.on("close", (code, signal) => {
      resolve({ code, signal, stderr, ...(error ? { error } : {}) });
    });
  });
}
