import { readFile } from "node:fs/promises";
import createDebug from "debug";
import {
  SshAuthFailedError,
  SshCancelledError,
  SshHostKeyMismatchError,
  SshOptionsError,
  SshTimeoutError,
} from "./errors.js";
import { type PinnedHostKey, parseHostKey } from "./host-key.js";
import type { ShellDialect } from "./quote.js";
import { SshSession } from "./session.js";
import { ssh2 } from "./ssh2-lazy.js";

const debug = createDebug("strata:ssh");

/** @default 300_000: a Debian guest needs ~35 s under TCG; Windows much longer. */
export const DEFAULT_BOOT_TIMEOUT_MS = 300_000;
/** Per-attempt limit on the SSH handshake (slirp accepts connections even when nothing listens in the guest, so an attempt can hang). @default 10_000 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const BACKOFF_MS = [200, 300, 500, 800, 1000];

export interface ConnectOptions {
  /** @default "127.0.0.1" */
  host?: string;
  port: number;
  username: string;
  /** The private key, as text/bytes or `{ path }` of a key file. */
  privateKey: string | Buffer | { path: string };
  /** How commands are written: "posix" (sh) or "cmd" (Windows). @default "posix" */
  dialect?: ShellDialect;
  /** The shell argv commands are given to, e.g. the manifest's ["/bin/bash", "-c"]. */
  shell?: readonly string[];
  /** @default DEFAULT_HANDSHAKE_TIMEOUT_MS */
  handshakeTimeoutMs?: number;
  /**
   * The server's host public key as an OpenSSH line (`ssh-ed25519 AAAA...`): any other key is
   * refused with {@link SshHostKeyMismatchError}. @default any key is accepted
   */
  hostKey?: string | undefined;
  signal?: AbortSignal;
}

export interface WaitForSshOptions extends ConnectOptions {
  /** Give up after this long. @default DEFAULT_BOOT_TIMEOUT_MS */
  timeoutMs?: number;
  /** Why the guest did not answer: e.g. `() => vm.consoleTail()`, quoted in the timeout error. */
  diagnostics?: () => Promise<string>;
  /** A trivial command that must succeed before the guest counts as ready. @default "exit 0" */
  readyCommand?: string;
  /** Called after each failed attempt. */
  onAttempt?: (attempt: number, error: Error) => void;
}

async function loadKey(key: ConnectOptions["privateKey"]): Promise<string | Buffer> {
  return typeof key === "object" && !Buffer.isBuffer(key) ? readFile(key.path) : key;
}

function checkOptions(o: ConnectOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)
    problems.push(`port: must be a TCP port (got ${o.port})`);
  if (typeof o.username !== "string" || o.username === "")
    problems.push("username: must be a non-empty string");
  if (o.privateKey === undefined) problems.push("privateKey: is required");
  if (o.hostKey !== undefined && parseHostKey(o.hostKey) === undefined)
    problems.push(`hostKey: must be an OpenSSH public key line (got "${o.hostKey.slice(0, 40)}")`);
  if (problems.length > 0) throw new SshOptionsError(problems);
}

/** One connection attempt: resolves once authenticated. */
export async function connectSsh(options: ConnectOptions): Promise<SshSession> {
  checkOptions(options);
  const privateKey = await loadKey(options.privateKey);
  const pinned: PinnedHostKey | undefined =
    options.hostKey === undefined ? undefined : parseHostKey(options.hostKey);
  let presented: string | undefined;
  const client = new (ssh2().Client)();
  // ssh2 can emit a second error after the first ended the attempt; never let it go unhandled.
  client.on("error", (e) => debug("ssh2 error", e.message));
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      client.end();
      reject(new SshCancelledError("Connecting over SSH", { cause: options.signal?.reason }));
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const settle = (e?: Error) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (e && pinned && (presented !== undefined || /no matching host key/i.test(e.message)))
        e = new SshHostKeyMismatchError(pinned.fingerprint, presented, { cause: e });
      client.off("ready", settle).off("error", settle).off("close", onClose);
      if (!e) return resolve();
      client.end();
      reject(e);
    };
    const onClose = () => settle(new Error("connection closed during the handshake"));
    client.once("ready", settle).once("error", settle).once("close", onClose);
    client.connect({
      host: options.host ?? "127.0.0.1",
      port: options.port,
      username: options.username,
      privateKey,
      readyTimeout: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      ...(pinned
        ? {
            algorithms: { serverHostKey: pinned.algorithms },
            hostVerifier: (key: Buffer) => {
              if (pinned.blob.equals(key)) return true;
              presented = pinned.fingerprintOf(key);
              return false;
            },
          }
        : {}),
    });
  });
  return new SshSession(client, { dialect: options.dialect ?? "posix", shell: options.shell });
}

const isAuthFailure = (e: Error) => /authentication methods failed/i.test(e.message);

/**
 * Connects, retrying with a short backoff until authentication succeeds and a trivial command
 * runs, or the timeout passes. If `signal` aborts (e.g. a Vm's signal when QEMU exits), rejects
 * with its reason.
 */
export async function waitForSsh(options: WaitForSshOptions): Promise<SshSession> {
  checkOptions(options);
  const timeoutMs = options.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timer.signal]) : timer.signal;
  let attempt = 0;
  let lastError: Error | undefined;
  try {
    while (!signal.aborted) {
      attempt++;
      try {
        const remaining = Math.max(1000, deadline - Date.now());
        const handshakeTimeoutMs = Math.min(
          options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
          remaining,
        );
        const session = await connectSsh({ ...options, handshakeTimeoutMs, signal });
        try {
          await session.exec(options.readyCommand ?? "exit 0", { check: true, signal, raw: true });
          debug("ready after", attempt, "attempts");
          return session;
        } catch (e) {
          await session.close();
          throw e;
        }
      } catch (e) {
        // Another host key does not change by waiting: fail at once.
        if (e instanceof SshHostKeyMismatchError) throw e;
        if (signal.aborted) break;
        lastError = e as Error;
        debug("attempt", attempt, lastError.message);
        options.onAttempt?.(attempt, lastError);
        const pause = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)]!;
        await new Promise<void>((resolve) => {
          const stop = () => {
            clearTimeout(t);
            signal.removeEventListener("abort", stop);
            resolve();
          };
          const t = setTimeout(stop, pause);
          signal.addEventListener("abort", stop, { once: true });
        });
      }
    }
    if (options.signal?.aborted)
      throw options.signal.reason ?? new SshCancelledError("Waiting for SSH");
    const consoleTail =
      (await options.diagnostics?.().catch((e: Error) => `(no diagnostics: ${e.message})`)) ?? "";
    if (lastError && isAuthFailure(lastError)) {
      throw new SshAuthFailedError(options.username, consoleTail, { cause: lastError });
    }
    throw new SshTimeoutError(timeoutMs, attempt, consoleTail, { cause: lastError });
  } finally {
    clearTimeout(timeout);
  }
}
