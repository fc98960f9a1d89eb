import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";
import { createInterface } from "node:readline";
import { Semaphore } from "@strata/registry";
import { TransferError } from "./errors.js";
import type { ProcessEnd } from "./piped-processes.js";

/** Starts each answer line of the shell, followed by the exit status of what it ran. */
const STATUS = "strata-inflate-status";
/** Output kept per request, for error messages. */
const OUTPUT_KEEP_BYTES = 4096;

/**
 * The shell's loop. A request is three lines: `open`, a path: fd 3 becomes that file, read and
 * written from its start; `run`, a size cap, a blob path: `zstd -d` inflates the blob into fd 3
 * at its current position under `prlimit --fsize=<cap>`. Each request is answered by a status
 * line; zstd's messages come before it on the same pipe (stderr is stdout).
 */
const SCRIPT = `exec 2>&1
while IFS= read -r op && IFS= read -r a && IFS= read -r b; do
  case $op in
  open) command exec 3<>"$a"; status=$? ;;
  run) prlimit --fsize="$a" zstd -q -d -c <"$b" >&3; status=$? ;;
  *) status=127 ;;
  esac
  echo "${STATUS} $status"
done`;

const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

/**
 * A small `sh` that starts the `zstd -d` of each chunk for this process. Forking this Node
 * process (hundreds of MiB mapped) for every chunk costs milliseconds of CPU and stalls the
 * event loop (the downloads) until the child has exec'd, longer under load; the shell's forks
 * are cheap. One request at a time; it runs in its own process group, killed whole on an
 * abort (an orphaned shell exits at the end of its stdin, when this process dies). Not on
 * `@strata/host-tool`'s runner: it lives for the whole pull, answers requests on its stdin and
 * stdout, and the zstd processes it starts write to a descriptor it holds, not through this one.
 */
export class InflateShell {
  readonly #child: ChildProcess;
  #output = "";
  #answer: ((end: ProcessEnd) => void) | undefined;
  #gone: ProcessEnd | undefined;
  readonly #exited: Promise<void>;

  constructor() {
    this.#child = spawn("sh", ["-c", SCRIPT], {
      stdio: ["pipe", "pipe", "ignore"],
      env: { ...process.env, LC_ALL: "C" },
      detached: true,
    });
    const lines = createInterface({ input: this.#child.stdout! });
    lines.on("line", (line) => {
      if (!line.startsWith(`${STATUS} `)) {
        this.#output = `${this.#output}${line}\n`.slice(-OUTPUT_KEEP_BYTES);
        return;
      }
      const status = Number(line.slice(STATUS.length + 1));
      const signal = status > 128 ? SIGNAL_NAMES.get(status - 128) : undefined;
      this.#settle({
        code: signal ? null : status,
        signal: signal ?? null,
        stderr: this.#output,
      });
    });
    this.#child.stdin!.on("error", () => undefined); // a dead shell: reported by "exit"
    this.#exited = new Promise((resolve) => {
      this.#child.on("error", (error) => {
        this.#end({ code: null, signal: null, stderr: "", error });
        resolve();
      });
      this.#child.on("exit", (code, signal) => {
        this.#end({
          code: null,
          signal,
          stderr: this.#output,
          error: new Error(`the inflating shell exited (${signal ?? `code ${code}`})`),
        });
        resolve();
      });
    });
  }

  /** The shell's process ID, which is also its process group's. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Points the shell's fd 3 at `target` (which must exist), positioned at its start. */
  async open(target: string): Promise<void> {
    const end = await this.#request(["open", target, ""]);
    if (end.code !== 0) {
      throw new TransferError(
        "TRANSFER_ZSTD",
        `the inflating shell could not open ${target}: ${end.error?.message ?? end.stderr.trim()}`,
      );
    }
  }

  /**
   * Inflates the zstd frames of the file `blob` into the target at its current position, under
   * a file size limit of `maxFileBytes` (beyond it the kernel stops zstd with SIGXFSZ).
   */
  async inflate(blob: string, maxFileBytes: number, signal?: AbortSignal): Promise<ProcessEnd> {
    signal?.throwIfAborted();
    const kill = () => this.kill();
    signal?.addEventListener("abort", kill, { once: true });
    try {
      return await this.#request(["run", String(maxFileBytes), blob]);
    } finally {
      signal?.removeEventListener("abort", kill);
    }
  }

  /** Kills the shell and whatever it runs. */
  kill(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#gone) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Gone already.
    }
  }

  /**
   * Ends the shell: an idle one at the end of its input (so it exits and is reaped, its zstd
   * processes' CPU time counted in this process's children's), a busy one killed.
   */
  async close(): Promise<void> {
    if (this.#answer) this.kill();
    else this.#child.stdin?.end();
    await this.#exited;
  }

  #request(lines: [string, string, string]): Promise<ProcessEnd> {
    if (this.#gone) return Promise.resolve(this.#gone);
    if (this.#answer) throw new Error("InflateShell: one request at a time");
    if (lines.some((l) => l.includes("\n"))) {
      throw new TransferError(
        "TRANSFER_ZSTD",
        `a path with a newline cannot be inflated: ${lines.join(" ")}`,
      );
    }
    this.#output = "";
    return new Promise((resolve) => {
      this.#answer = resolve;
      this.#child.stdin!.write(`${lines.join("\n")}\n`);
    });
  }

  #settle(end: ProcessEnd): void {
    const answer = this.#answer;
    this.#answer = undefined;
    answer?.(end);
  }

  #end(end: ProcessEnd): void {
    this.#gone ??= end;
    this.#settle(end);
  }
}

/**
 * Up to `size` {@link InflateShell}s, each lent to one disk at a time (its fd 3 is that disk),
 * started on first use; {@link close} ends them all.
 */
export class InflateShells {
  readonly #slots: Semaphore;
  readonly #idle: InflateShell[] = [];
  readonly #all: InflateShell[] = [];

  constructor(size: number) {
    this.#slots = new Semaphore(size);
  }

  async use<T>(
    signal: AbortSignal | undefined,
    fn: (shell: InflateShell) => Promise<T>,
  ): Promise<T> {
    using _slot = await this.#slots.acquire(signal);
    let shell = this.#idle.pop();
    if (!shell) {
      shell = new InflateShell();
      this.#all.push(shell);
    }
    try {
      return await fn(shell);
    } finally {
      this.#idle.push(shell);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#all.map((shell) => shell.close()));
  }
}
