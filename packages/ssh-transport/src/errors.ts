import { boundTail } from "@strata/host-tool";

export type SshErrorCode =
  | "SSH_INVALID_OPTIONS"
  | "SSH_TIMEOUT"
  | "SSH_AUTH_FAILED"
  | "SSH_CONNECTION_LOST"
  | "SSH_COMMAND_FAILED"
  | "SSH_CANCELLED"
  | "SSH_TRANSFER_FAILED"
  | "SSH_TAR_REFUSED"
  | "SSH_TAR_TOO_LARGE"
  | "SSH_KEY_INVALID"
  | "SSH_HOST_KEY_MISMATCH";

/** Base class of every error thrown by @strata/ssh-transport; branch on `code`. */
export class SshError extends Error {
  readonly code: SshErrorCode;
  constructor(code: SshErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export class SshOptionsError extends SshError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super("SSH_INVALID_OPTIONS", `Invalid SSH options:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

const withConsole = (tail: string) =>
  tail ? `\nLast console output:\n${tail}` : "\nThe guest's console was empty or not available.";

/** The guest did not answer SSH before the boot timeout. */
export class SshTimeoutError extends SshError {
  readonly timedOut = true;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly consoleTail: string;
  constructor(
    timeoutMs: number,
    attempts: number,
    consoleTail: string,
    options?: { cause?: unknown },
  ) {
    const tail = boundTail(consoleTail);
    const last = options?.cause instanceof Error ? ` Last error: ${options.cause.message}.` : "";
    super(
      "SSH_TIMEOUT",
      `The guest did not answer SSH within ${timeoutMs} ms (${attempts} attempts).${last} ` +
        `Check that the image starts sshd and forwards the port.${withConsole(tail)}`,
      options,
    );
    this.timeoutMs = timeoutMs;
    this.attempts = attempts;
    this.consoleTail = tail;
  }
}

/** The guest's sshd answered but refused the key until the boot timeout passed. */
export class SshAuthFailedError extends SshError {
  readonly username: string;
  readonly consoleTail: string;
  constructor(username: string, consoleTail: string, options?: { cause?: unknown }) {
    const tail = boundTail(consoleTail);
    super(
      "SSH_AUTH_FAILED",
      `SSH authentication as ${username} failed. Check that the image holds the public key ` +
        `of the private key given (authorized_keys of ${username}).${withConsole(tail)}`,
      options,
    );
    this.username = username;
    this.consoleTail = tail;
  }
}

/** The SSH connection dropped while a command or transfer was running. */
export class SshConnectionLostError extends SshError {
  readonly command: string | undefined;
  constructor(what: string, command?: string, options?: { cause?: unknown }) {
    super(
      "SSH_CONNECTION_LOST",
      `The SSH connection was lost during ${what}${command ? ` (${command})` : ""}; ` +
        "the guest may have crashed or powered off.",
      options,
    );
    this.command = command;
  }
}

/** A command exited non-zero (only with `check: true`). */
export class SshCommandError extends SshError {
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string;
  constructor(
    command: string,
    exitCode: number | undefined,
    signal: string | undefined,
    stderr: string,
  ) {
    const tail = boundTail(stderr);
    super(
      "SSH_COMMAND_FAILED",
      `Command failed with ${signal ? `signal ${signal}` : `exit code ${exitCode}`}: ${command}` +
        `${tail ? `\nstderr:\n${tail}` : ""}`,
    );
    this.command = command;
    this.exitCode = exitCode;
    this.signal = signal;
    this.stderrTail = tail;
  }
}

/** An operation was cancelled through its AbortSignal. */
export class SshCancelledError extends SshError {
  readonly cancelled = true;
  constructor(what: string, options?: { cause?: unknown }) {
    super("SSH_CANCELLED", `${what} was cancelled.`, options);
  }
}

/** An SFTP or tar transfer failed. */
export class SshTransferError extends SshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SSH_TRANSFER_FAILED", message, options);
  }
}

/**
 * A tar stream from the guest holds an entry the host will not write (a path through a link,
 * outside the target, a device...) or more bytes or entries than allowed. Nothing was written
 * outside the target directory.
 */
export class TarRefusedError extends SshError {
  /** The refused entry's name as the stream gave it, or "(stream)". */
  readonly entry: string;
  readonly reason: string;
  constructor(entry: string, reason: string, code?: "TAR_TOO_LARGE") {
    super(
      code ? "SSH_TAR_TOO_LARGE" : "SSH_TAR_REFUSED",
      `Refused a tar stream from the guest: entry ${JSON.stringify(entry)} ${reason}. ` +
        (code
          ? "Make the directory smaller or raise the limit (strata build --cache-max-size)."
          : "The guest sent an archive that would write outside its target; nothing was written outside it."),
    );
    this.entry = entry;
    this.reason = reason;
  }
}

/** A file given as an SSH private key is not one (or is encrypted, which strata cannot use). */
export class SshKeyError extends SshError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      "SSH_KEY_INVALID",
      `Not a usable SSH private key: ${detail}. Give an unencrypted OpenSSH or PEM private key, or remove the file so that strata generates a new pair.`,
      options,
    );
  }
}

/**
 * The guest presented an SSH host key other than the one recorded for its image (the manifest's
 * `ssh.hostKey`): something else answers on the port, or the image's keys were replaced.
 */
export class SshHostKeyMismatchError extends SshError {
  constructor(
    readonly expected: string,
    readonly presented: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      "SSH_HOST_KEY_MISMATCH",
      `the guest's SSH host key ${presented ? `(${presented})` : "(none of the recorded type)"} is not the one recorded for its image (${expected}): refusing to connect. If the image was rebuilt or its keys changed on purpose, update ssh.hostKey in its manifest (or remove the field to accept any key).`,
      options,
    );
  }
}
