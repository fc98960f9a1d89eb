import { PassThrough, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { quoteCmdPath, quotePosix } from "@strata/shell-quote";
import createDebug from "debug";
import type { Client, SFTPWrapper } from "ssh2";
import {
  SshConnectionLostError,
  SshOptionsError,
  SshTransferError,
  TarRefusedError,
} from "./errors.js";
import { type ExecOptions, type ExecResult, execOnClient } from "./exec.js";
import { type ExtractTarOptions, extractTar } from "./extract-tar.js";
import { buildCommandLine, invalidEnvNames, type ShellDialect } from "./quote.js";
import { type OpenShellOptions, openShellOnClient, type ShellSession } from "./shell.js";
import { packDirectory } from "./tar.js";

const debug = createDebug("strata:ssh");

/** Parallel SFTP requests for fastPut/fastGet. @default 64 */
export const DEFAULT_SFTP_CONCURRENCY = 64;
/** Bytes per SFTP request. @default 32 KiB, what OpenSSH's sftp-server accepts everywhere */
export const DEFAULT_SFTP_CHUNK_SIZE = 32 * 1024;

export interface TransferOptions {
  /** @default DEFAULT_SFTP_CONCURRENCY */
  concurrency?: number;
  /** @default DEFAULT_SFTP_CHUNK_SIZE */
  chunkSize?: number;
  /** Mode of the created file. */
  mode?: number;
  onProgress?: (transferred: number, total: number) => void;
}

export interface TarOptions {
  signal?: AbortSignal;
  /** Run tar as this uid/gid in the guest (POSIX, through sudo). */
  user?: ExecOptions["user"];
}

/** Options of {@link SshSession.getTar}. */
export interface GetTarOptions extends TarOptions {
  /** Pack these names in the directory (POSIX guests) instead of all of it. @default ["."] */
  entries?: readonly string[];
  /** Limits and link handling when the target is a host directory (see `extractTar`). */
  extract?: ExtractTarOptions;
}

export interface SessionSettings {
  dialect: ShellDialect;
  shell?: readonly string[] | undefined;
}

/** One authenticated SSH connection to a guest; every command gets its own channel. */
export class SshSession implements AsyncDisposable {
  readonly client: Client;
  readonly dialect: ShellDialect;
  readonly shell: readonly string[] | undefined;
  /** Resolves when the connection closes, for whatever reason. */
  readonly closed: Promise<void>;
  #connected = true;
  #sftp: Promise<SFTPWrapper> | undefined;

  constructor(client: Client, settings: SessionSettings) {
    this.client = client;
    this.dialect = settings.dialect;
    this.shell = settings.shell;
    this.closed = new Promise((resolve) => {
      client.once("close", () => {
        this.#connected = false;
        debug("connection closed");
        resolve();
      });
    });
    // Errors after the handshake surface as failed commands (SSH_CONNECTION_LOST).
    client.on("error", (e) => debug("connection error", e.message));
  }

  get connected(): boolean {
    return this.#connected;
  }

  /**
   * Runs a command (a shell string, or an argv quoted for the guest's shell) with optional env,
   * cwd and user; output is streamed to the callbacks/streams as it arrives and the first
   * `maxBuffer` bytes are returned. A dropped connection rejects with SshConnectionLostError.
   */
  exec(command: string | readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const problems = invalidEnvNames(opts.env).map(
      (k) => `env: ${JSON.stringify(k)} is not a valid variable name`,
    );
    if (opts.user && this.dialect === "cmd")
      problems.push("user: Windows guests run commands as the SSH user only");
    if (problems.length > 0) return Promise.reject(new SshOptionsError(problems));
    const line =
      opts.raw && typeof command === "string"
        ? command
        : buildCommandLine(command, {
            dialect: this.dialect,
            shell: opts.shell ?? this.shell,
            env: opts.env,
            cwd: opts.cwd,
            user: opts.user,
          });
    return execOnClient(this.client, line, opts, () => this.#connected);
  }

  /** The connection's SFTP subsystem, opened on first use. */
  sftp(): Promise<SFTPWrapper> {
    this.#sftp ??= new Promise<SFTPWrapper>((resolve, reject) => {
      if (!this.#connected) return reject(new SshConnectionLostError("opening SFTP"));
      this.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
    });
    this.#sftp.catch(() => (this.#sftp = undefined));
    return this.#sftp;
  }

  #transfer(
    kind: "fastPut" | "fastGet",
    from: string,
    to: string,
    o: TransferOptions,
  ): Promise<void> {
    return this.sftp().then(
      (sftp) =>
        new Promise<void>((resolve, reject) => {
          const options = {
            concurrency: o.concurrency ?? DEFAULT_SFTP_CONCURRENCY,
            chunkSize: o.chunkSize ?? DEFAULT_SFTP_CHUNK_SIZE,
            ...(o.mode !== undefined ? { mode: o.mode } : {}),
            ...(o.onProgress
              ? { step: (done: number, _c: number, total: number) => o.onProgress?.(done, total) }
              : {}),
          };
          sftp[kind](from, to, options, (err) => {
            if (!err) return resolve();
            if (!this.#connected)
              return reject(
                new SshConnectionLostError(`SFTP ${kind}`, `${from} -> ${to}`, { cause: err }),
              );
            reject(
              new SshTransferError(`SFTP ${kind} ${from} -> ${to} failed: ${err.message}`, {
                cause: err,
              }),
            );
          });
        }),
    );
  }

  /** Uploads a host file with parallel SFTP writes. */
  putFile(localPath: string, remotePath: string, opts: TransferOptions = {}): Promise<void> {
    return this.#transfer("fastPut", localPath, remotePath, opts);
  }

  /** Downloads a guest file with parallel SFTP reads. */
  getFile(remotePath: string, localPath: string, opts: TransferOptions = {}): Promise<void> {
    return this.#transfer("fastGet", remotePath, localPath, opts);
  }

  #tarCommand(args: string): string {
    if (this.dialect === "cmd") return `tar ${args}`; // bsdtar ships with Windows 10+/Server 2019+
    return args;
  }

  /** Unpacks a tar stream, or a host directory packed on the fly, into `remoteDir` (created if needed). */
  async putTar(source: string | Readable, remoteDir: string, opts: TarOptions = {}): Promise<void> {
    const stdin = typeof source === "string" ? packDirectory(source) : source;
    const command =
      this.dialect === "cmd"
        ? `(if not exist ${quoteCmdPath(remoteDir)} mkdir ${quoteCmdPath(remoteDir)}) && ${this.#tarCommand(`-xf - -C ${quoteCmdPath(remoteDir)}`)}`
        : `mkdir -p ${quotePosix(remoteDir)} && tar -xf - -C ${quotePosix(remoteDir)}`;
    await this.exec(command, {
      stdin,
      check: true,
      signal: opts.signal,
      user: opts.user,
      raw: !opts.user && this.dialect === "cmd",
    });
  }

  /**
   * Packs `remoteDir` in the guest (`tar -cf - -C DIR .`, or the given `entries` of it) into a
   * writable stream or a host directory (through `extractTar`: the stream is hostile).
   */
  async getTar(
    remoteDir: string,
    target: string | Writable,
    opts: GetTarOptions = {},
  ): Promise<void> {
    const entries = opts.entries ?? ["."];
    if (this.dialect === "cmd" && opts.entries)
      throw new SshOptionsError(["getTar: `entries` is for POSIX guests only"]);
    const command =
      this.dialect === "cmd"
        ? `tar -cf - -C ${quoteCmdPath(remoteDir)} .`
        : `tar -cf - -C ${quotePosix(remoteDir)} -- ${entries.map((e) => quotePosix(e)).join(" ")}`;
    const out = new PassThrough();
    const consumer =
      typeof target === "string" ? extractTar(out, target, opts.extract) : pipeline(out, target);
    // A refused stream (see extractTar) stops the guest's tar and is the error reported.
    const stop = new AbortController();
    const failed = consumer.then(
      () => undefined,
      (e: unknown) => {
        stop.abort(e);
        return e;
      },
    );
    try {
      await this.exec(command, {
        stdout: out,
        check: true,
        signal: opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal,
        user: opts.user,
        maxBuffer: 0,
        raw: this.dialect === "cmd",
      });
      out.end();
      await consumer;
    } catch (e) {
      out.destroy();
      const refusal = await failed;
      throw refusal instanceof TarRefusedError ? refusal : e;
    }
  }

  /** An interactive PTY session (`strata shell`); resize it when the host terminal changes. */
  openShell(opts: OpenShellOptions): Promise<ShellSession> {
    if (!this.#connected) return Promise.reject(new SshConnectionLostError("opening a shell"));
    return openShellOnClient(this.client, opts);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    if (this.#connected) this.client.end();
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
