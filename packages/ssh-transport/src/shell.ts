import type { Readable, Writable } from "node:stream";
import type { Client, ClientChannel } from "ssh2";
import { SshConnectionLostError } from "./errors.js";

export interface OpenShellOptions {
  stdin: Readable;
  stdout: Writable;
  /** @default 24 */
  rows?: number;
  /** @default 80 */
  cols?: number;
  /** @default "xterm-256color" */
  term?: string;
  /** Run this instead of the login shell. */
  command?: string;
  env?: Record<string, string>;
}

export interface ShellSession {
  /** Tells the guest the terminal's new size (send on the host terminal's 'resize'). */
  resize(rows: number, cols: number): void;
  /** Resolves when the guest side ends; the exit code of the shell, if it sent one. */
  readonly exited: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  /** Closes the channel (the guest shell gets SIGHUP). */
  close(): void;
}

/** An interactive session on a PTY: stdin goes to the guest, its output to stdout (stderr is merged by the PTY). */
export function openShellOnClient(client: Client, o: OpenShellOptions): Promise<ShellSession> {
  const window = {
    rows: o.rows ?? 24,
    cols: o.cols ?? 80,
    height: 0,
    width: 0,
    term: o.term ?? "xterm-256color",
  };
  return new Promise((resolve, reject) => {
    const ready = (err: Error | undefined, channel: ClientChannel) => {
      if (err) return reject(err);
      let exitCode: number | undefined;
      let signal: string | undefined;
      let gotExit = false;
      channel.on("exit", (code: number | null, sig?: string) => {
        gotExit = true;
        exitCode = code ?? undefined;
        signal = sig ? (sig.startsWith("SIG") ? sig : `SIG${sig}`) : undefined;
      });
      const exited = new Promise<{ exitCode: number | undefined; signal: string | undefined }>(
        (res, rej) => {
          channel.on("close", () => {
            o.stdin.unpipe(channel);
            if (gotExit || closedByUs) res({ exitCode, signal });
            else rej(new SshConnectionLostError("an interactive shell"));
          });
        },
      );
      exited.catch(() => {});
      let closedByUs = false;
      o.stdin.pipe(channel);
      channel.pipe(o.stdout, { end: false });
      resolve({
        resize: (rows, cols) => channel.setWindow(rows, cols, 0, 0),
        exited,
        close: () => {
          closedByUs = true;
          channel.close();
        },
      });
    };
    const env = o.env ? { env: o.env } : {};
    if (o.command) client.exec(o.command, { pty: window, ...env }, ready);
    else client.shell(window, env, ready);
  });
}
