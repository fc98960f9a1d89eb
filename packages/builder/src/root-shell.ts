import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { quotePosix } from "@strata/shell-quote";
import {
  SshCancelledError,
  SshCommandError,
  SshConnectionLostError,
  type SshSession,
} from "@strata/ssh-transport";
import { GUEST_ROOT, POSIX_SH } from "./posix.js";

/** What one script run through a {@link RootShell} gave back. */
export interface RootResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** One output stream of the running script: its first bytes, and its last for the marker. */
interface Output {
  kept: Buffer[];
  keptBytes: number;
  size: number;
  tail: string;
}

interface Pending {
  marker: string;
  out: Output;
  err: Output;
  resolve: (r: RootResult) => void;
  reject: (e: unknown) => void;
}

/** Output a script may give back (the rest is dropped): a guest is not trusted to be brief. */
const MAX_OUTPUT = 1024 * 1024;
/** Enough of a stream's end to hold its marker line. */
const TAIL = 256;

const output = (): Output => ({ kept: [], keptBytes: 0, size: 0, tail: "" });

function add(o: Output, chunk: Buffer): void {
  o.size += chunk.length;
  if (o.keptBytes < MAX_OUTPUT) {
    const part = chunk.subarray(0, MAX_OUTPUT - o.keptBytes);
    o.kept.push(part);
    o.keptBytes += part.length;
  }
  // Markers are ASCII: a character cut at a chunk's edge only garbles bytes before them.
  o.tail = (o.tail + chunk.toString("latin1")).slice(-TAIL);
}

/** The stream's text without its last `suffix` bytes (the marker). */
function text(o: Output, suffix: number): string {
  return Buffer.concat(o.kept)
    .subarray(0, Math.max(0, o.size - suffix))
    .toString("utf8");
}

/**
 * One `/bin/sh` running as root in a POSIX guest for the life of its SSH connection, which runs
 * strata's own short root scripts (clock, workdir, user lookup, quiesce) one at a time. Each
 * script would otherwise cost its own SSH channel and `sudo` (about 1 s a command under TCG on
 * a loaded host, most of a continued step). Scripts run in their own `sh -c` with no stdin;
 * after each one the shell prints a random marker and the exit status on stdout, and the marker
 * on stderr, which is how their ends are found (only the first MiB of each stream is kept). A failure of the shell itself (the connection
 * lost, a cancelled script) ends it: the next script starts a new one.
 */
export class RootShell {
  readonly #stdin = new PassThrough();
  readonly #abort = new AbortController();
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Why the shell is gone; set once it is. */
  #gone: unknown;

  constructor(ssh: SshSession) {
    const done = ssh.exec("exec /bin/sh", {
      user: GUEST_ROOT,
      shell: POSIX_SH,
      stdin: this.#stdin,
      maxBuffer: 64 * 1024,
      signal: this.#abort.signal,
      onStdout: (c) => this.#data("out", c),
      onStderr: (c) => this.#data("err", c),
    });
    done.then(
      (r) =>
        this.#end(
          new SshCommandError("a root shell (sudo -n /bin/sh)", r.exitCode, r.signal, r.stderr),
        ),
      (e: unknown) => this.#end(e),
    );
  }

  /** False once the shell has ended (see the class comment). */
  get alive(): boolean {
    return this.#gone === undefined;
  }

  /**
   * Runs `script` as root with /bin/sh and resolves with its exit status and output, whatever the
   * status. `signal` (e.g. a timeout) cancels it: the shell is ended and the promise rejects.
   */
  run(script: string, signal?: AbortSignal): Promise<RootResult> {
    const next = this.#queue.then(() => this.#run(script, signal));
    this.#queue = next.catch(() => {});
    return next;
  }

  #run(script: string, signal: AbortSignal | undefined): Promise<RootResult> {
    return new Promise<RootResult>((resolve, reject) => {
      if (this.#gone !== undefined) return reject(this.#gone);
      if (signal?.aborted)
        return reject(new SshCancelledError("A root script", { cause: signal.reason }));
      const marker = `strata-${randomBytes(12).toString("hex")}`;
      const onAbort = () => {
        this.close(new SshCancelledError("A root script", { cause: signal?.reason }));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const settle = () => signal?.removeEventListener("abort", onAbort);
      this.#pending = {
        marker,
        out: output(),
        err: output(),
        resolve: (r) => {
          settle();
          resolve(r);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      };
      // `\n` before each marker: found even after output without a final newline.
      this.#stdin.write(
        `/bin/sh -c ${quotePosix(script)} </dev/null; ` +
          `printf '\\n%s %s\\n' ${marker} "$?"; printf '\\n%s\\n' ${marker} >&2\n`,
      );
    });
  }

  #data(stream: "out" | "err", chunk: Buffer): void {
    const p = this.#pending;
    if (!p) return;
    add(p[stream], chunk);
    const status = new RegExp(`\\n${p.marker} (\\d+)\\n$`).exec(p.out.tail);
    const errEnd = `\n${p.marker}\n`;
    if (!status || !p.err.tail.endsWith(errEnd)) return;
    this.#pending = undefined;
    p.resolve({
      exitCode: Number(status[1]),
      stdout: text(p.out, status[0].length),
      stderr: text(p.err, errEnd.length),
    });
  }

  #end(reason: unknown): void {
    this.#gone ??= reason;
    const p = this.#pending;
    this.#pending = undefined;
    p?.reject(this.#gone);
  }

  /** Ends the shell (its pending script rejects with `reason`). */
  close(reason: unknown = new SshConnectionLostError("a root script")): void {
    this.#end(reason);
    this.#stdin.end();
    this.#abort.abort(reason);
  }
}
