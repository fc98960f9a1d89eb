import type { Readable, Writable } from "node:stream";
import { HostToolError, type HostToolErrorCode } from "./errors.js";
import { createLineSplitter, createTailBuffer } from "./tail.js";
// execa is loaded on first use: it costs ~130 ms, and a fully cached build runs no process.

/** Bytes of stderr kept for a {@link HostToolError}. */
export const DEFAULT_STDERR_TAIL_BYTES = 8 * 1024;

/** Options of {@link runHostTool} and {@link spawnHostTool}. */
export interface HostToolOptions {
  /** Aborting kills the tool (SIGTERM, SIGKILL 5 s later) and rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /**
   * Kills the tool after this long and rejects with a `HOST_TOOL_TIMEOUT` error.
   * @default no limit
   */
  timeoutMs?: number | undefined;
  /** @default the current directory */
  cwd?: string | undefined;
  /** Variables added to this process's environment. @default none */
  env?: Readonly<Record<string, string>> | undefined;
  /**
   * `ignore`: the tool reads nothing. `pipe`: {@link HostToolProcess.stdin} is a stream to write
   * (spawnHostTool only).
   * @default "ignore"
   */
  stdin?: "ignore" | "pipe" | undefined;
  /**
   * `text`/`buffer`: collected and returned. `stream`: {@link HostToolProcess.stdout} is a stream
   * to read (spawnHostTool only). `lines`: each line goes to {@link onLine} and into the error's
   * tail, as tools that report progress on stdout need. `ignore`: thrown away.
   * @default "text"
   */
  stdout?: "text" | "buffer" | "stream" | "lines" | "ignore" | undefined;
  /** Most bytes of stdout collected in `text`/`buffer` mode. @default 100 MiB */
  maxStdoutBytes?: number | undefined;
  /** Bytes of stderr kept for the error. @default DEFAULT_STDERR_TAIL_BYTES */
  stderrTailBytes?: number | undefined;
  /**
   * Each line of stderr (and of stdout in `lines` mode) as it comes; `\r` ends a line too, so a
   * counter redrawn in place (`qemu-img -p`) arrives as one line per redraw.
   * @default none
   */
  onLine?: ((line: string) => void) | undefined;
  /** Exit codes that count as success (`qemu-img check` exits 3 for leaked clusters). @default [0] */
  okExitCodes?: readonly number[] | undefined;
}

/** What a finished tool left. */
export interface HostToolResult<T extends string | Buffer = string> {
  /** stdout in `text`/`buffer` mode; empty otherwise. */
  stdout: T;
  exitCode: number;
  /** The last bytes of stderr (bounded by `stderrTailBytes`). */
  stderrTail: string;
}

/** A started tool, for callers that stream to or from it. */
export interface HostToolProcess {
  /** Present when `stdin: "pipe"`. */
  readonly stdin: Writable | null;
  /** Present when `stdout: "stream"`. */
  readonly stdout: Readable | null;
  /** Settles when the tool ends; rejects with a HostToolError or the abort reason. */
  readonly done: Promise<HostToolResult<string | Buffer> & { stopped: boolean }>;
  /** Stops the tool on purpose: `done` then resolves with `stopped: true` whatever its exit. */
  stop(): void;
}

interface ExecaFailure {
  failed: boolean;
  timedOut?: boolean;
  isCanceled?: boolean;
  exitCode?: number;
  signal?: string;
  code?: string;
  cause?: unknown;
  stdout?: unknown;
}

function causeCode(r: ExecaFailure): string | undefined {
  if (typeof r.code === "string") return r.code;
  const c = r.cause as { code?: unknown } | undefined;
  return typeof c?.code === "string" ? c.code : undefined;
}

/**
 * Starts `file` with `args` (never through a shell). The one place strata runs host tools:
 * cancellation, timeout, a bounded stderr tail and typed errors behave the same for each.
 */
export async function spawnHostTool(
  file: string,
  args: readonly string[],
  options: HostToolOptions = {},
): Promise<HostToolProcess> {
  const { execa } = await import("execa");
  const mode = options.stdout ?? "text";
  const tail = createTailBuffer(options.stderrTailBytes ?? DEFAULT_STDERR_TAIL_BYTES);
  const onLine = options.onLine;
  // One splitter a stream: a partial line of stdout must not join one of stderr.
  const splitErr = createLineSplitter((line) => onLine?.(line));
  const splitOut = createLineSplitter((line) => onLine?.(line));
  const child = execa(file, args, {
    reject: false,
    stdin: options.stdin === "pipe" ? "pipe" : "ignore",
    stdout: mode === "ignore" ? "ignore" : "pipe",
    stderr: "pipe",
    encoding: mode === "buffer" ? "buffer" : "utf8",
    buffer: { stdout: mode === "text" || mode === "buffer", stderr: false },
    maxBuffer: options.maxStdoutBytes ?? 100 * 2 ** 20,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  });
  const take = (split: typeof splitErr) => (chunk: Buffer | string) => {
    const text = typeof chunk === "string" ? chunk : chunk.toString("utf8");
    tail.push(text);
    split.push(text);
  };
  child.stderr?.on("data", take(splitErr));
  if (mode === "lines") child.stdout?.on("data", take(splitOut));
  let stopped = false;
  const command = [file, ...args].join(" ");
  const done = (async () => {
    const result = (await child) as unknown as ExecaFailure;
    splitErr.end();
    splitOut.end();
    const stderrTail = tail.text();
    const exitCode = result.exitCode;
    const ok = exitCode !== undefined && (options.okExitCodes ?? [0]).includes(exitCode);
    const stdout = (mode === "text" || mode === "buffer" ? result.stdout : "") as string | Buffer;
    if (stopped) return { stdout, exitCode: exitCode ?? -1, stderrTail, stopped };
    if (options.signal?.aborted) throw options.signal.reason;
    if (ok) return { stdout, exitCode, stderrTail, stopped };
    const failure = { command, exitCode, signalName: result.signal, stderrTail };
    let code: HostToolErrorCode = "HOST_TOOL_FAILED";
    if (causeCode(result) === "ENOENT" && exitCode === undefined) code = "HOST_TOOL_MISSING";
    else if (result.timedOut) code = "HOST_TOOL_TIMEOUT";
    throw new HostToolError(code, failure, { cause: result, timeoutMs: options.timeoutMs });
  })();
  // A caller that never awaits `done` (it threw first) must not leave an unhandled rejection.
  done.catch(() => {});
  return {
    stdin: options.stdin === "pipe" ? child.stdin : null,
    stdout: mode === "stream" ? child.stdout : null,
    done,
    stop() {
      stopped = true;
      child.kill();
    },
  };
}

/** Runs a host tool to the end and returns its stdout as text; see {@link spawnHostTool}. */
export async function runHostTool(
  file: string,
  args: readonly string[],
  options?: HostToolOptions & { stdout?: "text" | "lines" | "ignore" },
): Promise<HostToolResult<string>>;
/** Runs a host tool to the end and returns its stdout as bytes. */
export async function runHostTool(
  file: string,
  args: readonly string[],
  options: HostToolOptions & { stdout: "buffer" },
): Promise<HostToolResult<Buffer>>;
export async function runHostTool(
  file: string,
  args: readonly string[],
  options: HostToolOptions = {},
): Promise<HostToolResult<string | Buffer>> {
  if (options.stdin === "pipe" || options.stdout === "stream") {
    throw new TypeError("runHostTool cannot pipe: use spawnHostTool to stream");
  }
  const { stdout, exitCode, stderrTail } = await (await spawnHostTool(file, args, options)).done;
  return { stdout, exitCode, stderrTail };
}
