import type { Readable, Writable } from "node:stream";
import createDebug from "debug";
import type { Client, ClientChannel } from "ssh2";
import {
  SshCancelledError,
  SshCommandError,
  SshConnectionLostError,
  SshTransferError,
} from "./errors.js";
import type { RunAs } from "./quote.js";

const debug = createDebug("strata:ssh");

/** Output kept in `ExecResult.stdout/stderr` (the rest is only streamed). @default 1 MiB */
export const DEFAULT_MAX_BUFFER = 1024 * 1024;

export interface ExecOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Run as this uid/gid (POSIX guests, through `sudo -n`); default: the SSH user. */
  user?: RunAs;
  /** Shell argv for this command instead of the session's. */
  shell?: readonly string[];
  /** Send the command string exactly as given: no shell, env, cwd or user wrapping. @default false */
  raw?: boolean;
  stdin?: string | Buffer | Readable;
  /** Called with each chunk of standard output as it arrives. */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Streams the output is piped into as it arrives (not ended afterwards). */
  stdout?: Writable;
  stderr?: Writable;
  /** Throw SshCommandError when the command does not exit with 0. @default false */
  check?: boolean;
  /** @default DEFAULT_MAX_BUFFER */
  maxBuffer?: number;
  /** Cancels: sends SIGKILL to the remote command (where sshd supports it) and closes the channel. */
  signal?: AbortSignal;
}

export interface ExecResult {
  /** The command line sent to the guest. */
  command: string;
  /** `undefined` when the command died by a signal. */
  exitCode: number | undefined;
  signal: string | undefined;
  /** The first `maxBuffer` bytes of each stream. */
  stdout: string;
  stderr: string;
}

function collector(max: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add(chunk: Buffer) {
      if (size >= max) return;
      chunks.push(chunk.subarray(0, max - size));
      size += chunk.length;
    },
    text: () => Buffer.concat(chunks).toString("utf8"),
  };
}

/** Runs one command line on its own channel; see `SshSession.exec`. */
export function execOnClient(
  client: Client,
  command: string,
  opts: ExecOptions,
  isConnected: () => boolean,
): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    if (opts.signal?.aborted)
      return reject(new SshCancelledError(`Command ${command}`, { cause: opts.signal.reason }));
    if (!isConnected()) return reject(new SshConnectionLostError("exec", command));
    debug("exec", command);
    client.exec(command, (err, channel: ClientChannel) => {
      if (err)
        return reject(
          isConnected() ? err : new SshConnectionLostError("exec", command, { cause: err }),
        );
      const out = collector(opts.maxBuffer ?? DEFAULT_MAX_BUFFER);
      const errOut = collector(opts.maxBuffer ?? DEFAULT_MAX_BUFFER);
      let exitCode: number | undefined;
      let exitSignal: string | undefined;
      let gotExit = false;
      let cancelled = false;
      let inputError: Error | undefined;
      const onAbort = () => {
        cancelled = true;
        // OpenSSH >= 7.9 delivers signal requests; older servers ignore them and only see EOF.
        channel.signal("KILL");
        channel.close();
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      const onClientGone = () => channel.emit("close");
      client.once("close", onClientGone);
      channel.on("data", (chunk: Buffer) => {
        out.add(chunk);
        opts.onStdout?.(chunk);
        opts.stdout?.write(chunk);
      });
      channel.stderr.on("data", (chunk: Buffer) => {
        errOut.add(chunk);
        opts.onStderr?.(chunk);
        opts.stderr?.write(chunk);
      });
      channel.on("exit", (code: number | null, sig?: string) => {
        gotExit = true;
        exitCode = code ?? undefined;
        exitSignal = sig ? (sig.startsWith("SIG") ? sig : `SIG${sig}`) : undefined;
      });
      let settled = false;
      channel.on("close", () => {
        if (settled) return;
        settled = true;
        opts.signal?.removeEventListener("abort", onAbort);
        client.off("close", onClientGone);
        if (inputError) {
          const message = `Reading stdin for ${command} failed: ${inputError.message}`;
          return reject(new SshTransferError(message, { cause: inputError }));
        }
        if (cancelled)
          return reject(
            new SshCancelledError(`Command ${command}`, { cause: opts.signal?.reason }),
          );
        // A channel that closes without an exit status means the connection or sshd went away.
        if (!gotExit) return reject(new SshConnectionLostError("a command", command));
        const result = {
          command,
          exitCode,
          signal: exitSignal,
          stdout: out.text(),
          stderr: errOut.text(),
        };
        if (opts.check && exitCode !== 0) {
          return reject(new SshCommandError(command, exitCode, exitSignal, result.stderr));
        }
        resolve(result);
      });
      const input = opts.stdin;
      if (input === undefined) channel.end();
      else if (typeof input === "string" || Buffer.isBuffer(input)) {
        channel.write(input);
        channel.end();
      } else {
        input.on("error", (e) => {
          inputError = e;
          channel.close();
        });
        input.pipe(channel);
      }
    });
  });
}
