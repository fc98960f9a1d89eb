import type { Readable, Writable } from "node:stream";
import { HostToolError, HostToolMissingError } from "./errors.js";
import { createLineTail } from "./tail.js";

// execa is loaded on first use: it costs ~130 ms, and a fully cached build runs no process.

/** Lines of output an error keeps (then bounded to MAX_TAIL_BYTES). */
const TAIL_LINES = 30;
/** A tool that ignores SIGTERM on cancel or timeout gets SIGKILL this much later. */
const KILL_AFTER_MS = 5_000;

export interface HostToolOptions {
  /** Cancels the tool (SIGTERM, then SIGKILL): the call rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Kills the tool after this long: a {@link HostToolError} with `timedOut`. @default none */
  timeoutMs?: number | undefined;
  cwd?: string | undefined;
  /** Added to this process's environment. */
  env?: Record<string, string> | undefined;
  /**
   * Written to its stdin; without it, stdin is /dev/null (or `"pipe"`: the caller writes it; or
   * a stream with a descriptor of its own, a socket: the tool reads that descriptor itself).
   */
  stdin?: string | Buffer | "pipe" | Readable | undefined;
  /**
   * Each line of its output (stdout and stderr as they come), for progress parsing. A `\r` ends a
   * line too: `qemu-img -p` redraws its counter with it.
   */
  onLine?: ((line: string) => void) | undefined;
}

/** A running host tool whose stdout the caller reads as a stream. */
export interface HostToolProcess {
  /** Its stdin, when started with `stdin: "pipe"`. */
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  /** Resolves when it exited 0; rejects as {@link runHostTool} does. */
  readonly done: Promise<void>;
  /** Stops it (SIGTERM); `done` then rejects, unless it had exited. */
  kill(): void;
}

/**
 * The one way strata runs a host tool (qemu-img, zstd, xorriso, mke2fs...), execa underneath:
 * waits for it and returns its stdout. Rejects with {@link HostToolMissingError} (the package to
 * install) when it is not on PATH, with the signal's reason when cancelled, and with
 * {@link HostToolError} (exit code or signal, `timedOut`, the last lines of its output) when it
 * fails. QEMU itself is not run here: its long-lived process has its own lifecycle
 * (`@strata/qemu-runner`'s start-vm.ts).
 */
export async function runHostTool(
  file: string,
  args: readonly string[],
  options: HostToolOptions = {},
): Promise<string> {
  const chunks: Buffer[] = [];
  const tool = await launch(file, args, options, Boolean(options.onLine));
  tool.stdout.on("data", (c: Buffer) => chunks.push(c));
  await tool.done;
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Starts a host tool whose stdout is read as a stream (a decompressor piped into an extractor).
 * Errors as {@link runHostTool}; `onLine` and the output tail in a {@link HostToolError} are
 * then stderr's alone.
 */
export function spawnHostTool(
  file: string,
  args: readonly string[],
  options: HostToolOptions = {},
): Promise<HostToolProcess> {
  return launch(file, args, options, false);
}

/** Starts the tool; `stdoutLines`: stdout feeds `onLine` and the tail too. */
async function launch(
  file: string,
  args: readonly string[],
  options: HostToolOptions,
  stdoutLines: boolean,
): Promise<HostToolProcess> {
  const { execa } = await import("execa");
  // One line cutter per stream (a partial stdout line must not swallow stderr's), one tail.
  const lines: string[] = [];
  const cutter = () =>
    createLineTail(
      0,
      (line) => {
        lines.push(line);
        if (lines.length > TAIL_LINES) lines.shift();
        options.onLine?.(line);
      },
      /\r\n|\r|\n/,
    );
  const errLines = cutter();
  const outLines = cutter();
  const stdin = options.stdin;
  const child = execa(file, args, {
    reject: false,
    buffer: false,
    stripFinalNewline: false,
    forceKillAfterDelay: KILL_AFTER_MS,
    ...(stdin === undefined
      ? { stdin: "ignore" as const }
      : stdin === "pipe" || isStream(stdin)
        ? { stdin }
        : { input: stdin }),
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  child.stderr.on("data", (c: Buffer) => errLines.write(c));
  if (stdoutLines) child.stdout.on("data", (c: Buffer) => outLines.write(c));
  const done = child.then((result) => {
    errLines.end();
    outLines.end();
    if (!result.failed) return;
    if ((result as { code?: unknown }).code === "ENOENT")
      throw new HostToolMissingError(file, { cause: result });
    if (result.isCanceled || options.signal?.aborted)
      throw options.signal?.reason ?? new Error(`${file} was cancelled`);
    throw new HostToolError(
      {
        command: [file, ...args].join(" "),
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut: result.timedOut,
        tail: lines.join("\n"),
      },
      { cause: result },
    );
  });
  // A caller that stops reading (or never waits) must not leave an unhandled rejection behind.
  done.catch(() => {});
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    done,
    kill: () => void child.kill(),
  };
}

const isStream = (value: unknown): value is Readable =>
  typeof value === "object" && value !== null && !Buffer.isBuffer(value);
