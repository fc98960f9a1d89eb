import { boundTail } from "@strata/host-tool";

export type QemuErrorCode =
  | "QEMU_INVALID_OPTIONS"
  | "QEMU_INVALID_MANIFEST"
  | "QEMU_START_FAILED"
  | "QEMU_PORT_IN_USE"
  | "QEMU_EXITED"
  | "QEMU_BOOT_TIMEOUT"
  | "QEMU_QMP_ERROR"
  | "QEMU_QMP_CLOSED"
  | "QEMU_CANCELLED"
  | "QEMU_STATE_FAILED"
  | "QEMU_HOTPLUG_FAILED"
  | "QEMU_IMAGE_NO_SSH"
  | "QEMU_NETWORK_SANDBOX";

/** Base class of every error thrown by @strata/qemu-runner; branch on `code`. */
export class QemuError extends Error {
  readonly code: QemuErrorCode;
  constructor(code: QemuErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Options given to `startVm` (or another entry point) are wrong; nothing was started. */
export class QemuOptionsError extends QemuError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super("QEMU_INVALID_OPTIONS", `Invalid VM options:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

/** Facts about a QEMU process that ended or could not start. */
interface QemuProcessFacts {
  argv: readonly string[];
  exitCode?: number | undefined;
  signal?: string | undefined;
  stderrTail?: string | undefined;
  consoleTail?: string | undefined;
}

/** QEMU failed before its monitor answered: bad argv, missing binary or file, busy port. */
export class QemuStartError extends QemuError {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string;
  readonly timedOut: boolean;
  constructor(facts: QemuProcessFacts & { timedOut?: boolean }, options?: { cause?: unknown }) {
    const stderr = boundTail(facts.stderrTail ?? "");
    super(
      "QEMU_START_FAILED",
      `QEMU failed to start${facts.timedOut ? " (timed out waiting for QMP)" : ""}` +
        `${facts.exitCode !== undefined ? ` with exit code ${facts.exitCode}` : ""}` +
        `${facts.signal ? ` by signal ${facts.signal}` : ""}. Command: ${facts.argv.join(" ")}` +
        `${stderr ? `\nstderr:\n${stderr}` : ""}\nCheck the command line and that the files exist.`,
      options,
    );
    this.argv = facts.argv;
    this.exitCode = facts.exitCode;
    this.signal = facts.signal;
    this.stderrTail = stderr;
    this.timedOut = facts.timedOut ?? false;
  }
}

/** QEMU could not bind the SSH forwarding port (another process took it first). */
export class QemuPortInUseError extends QemuError {
  readonly port: number;
  readonly attempts: number;
  constructor(port: number, attempts: number, options?: { cause?: unknown }) {
    super(
      "QEMU_PORT_IN_USE",
      `Could not forward a host port for SSH after ${attempts} attempts (last port ${port}). ` +
        "Free some ports on 127.0.0.1 or pass sshPort explicitly.",
      options,
    );
    this.port = port;
    this.attempts = attempts;
  }
}

/** The QEMU process ended while the caller still needed it (e.g. during boot). */
export class QemuExitedError extends QemuError {
  readonly argv: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly consoleTail: string;
  readonly stderrTail: string;
  constructor(facts: QemuProcessFacts) {
    const consoleTail = boundTail(facts.consoleTail ?? "");
    const stderrTail = boundTail(facts.stderrTail ?? "");
    super(
      "QEMU_EXITED",
      `QEMU exited unexpectedly (${facts.signal ? `signal ${facts.signal}` : `exit code ${facts.exitCode}`}).` +
        `${stderrTail ? `\nstderr:\n${stderrTail}` : ""}` +
        `${consoleTail ? `\nLast console output:\n${consoleTail}` : "\nThe serial console was empty."}`,
    );
    this.argv = facts.argv;
    this.exitCode = facts.exitCode;
    this.signal = facts.signal;
    this.consoleTail = consoleTail;
    this.stderrTail = stderrTail;
  }
}

/** The guest did not become ready before the boot timeout. */
export class QemuBootTimeoutError extends QemuError {
  readonly timeoutMs: number;
  readonly timedOut = true;
  readonly consoleTail: string;
  constructor(timeoutMs: number, consoleTail: string, options?: { cause?: unknown }) {
    const tail = boundTail(consoleTail);
    super(
      "QEMU_BOOT_TIMEOUT",
      `The guest was not ready after ${timeoutMs} ms. ` +
        `${tail ? `Last console output:\n${tail}` : "The serial console was empty (does the image print to ttyS0?)."}`,
      options,
    );
    this.timeoutMs = timeoutMs;
    this.consoleTail = tail;
  }
}

/** QMP answered a command with an error. */
export class QmpCommandError extends QemuError {
  readonly command: string;
  readonly errorClass: string;
  constructor(command: string, errorClass: string, desc: string) {
    super("QEMU_QMP_ERROR", `QMP command ${command} failed: ${errorClass}: ${desc}`);
    this.command = command;
    this.errorClass = errorClass;
  }
}

/** The QMP connection closed (QEMU exited) before an answer or event arrived. */
export class QmpClosedError extends QemuError {
  constructor(what: string) {
    super("QEMU_QMP_CLOSED", `QMP connection closed while waiting for ${what}; QEMU has exited.`);
  }
}

/** An operation was cancelled through its AbortSignal. */
export class QemuCancelledError extends QemuError {
  readonly cancelled = true;
  constructor(what: string, options?: { cause?: unknown }) {
    super("QEMU_CANCELLED", `${what} was cancelled.`, options);
  }
}

/** Saving a VM's state to a file, or resuming from one, failed (a corrupt or mismatched file). */
export class QemuStateError extends QemuError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("QEMU_STATE_FAILED", message, options);
  }
}

/** A drive could not be plugged into or out of a running VM. */
export class QemuHotplugError extends QemuError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("QEMU_HOTPLUG_FAILED", message, options);
  }
}

/**
 * The image has no SSH access configured (installed from an ISO without `--ssh-user`), so
 * nothing can log in to run a step; says how to give it one.
 */
export class ImageNoSshError extends QemuError {
  constructor(readonly image: string) {
    super(
      "QEMU_IMAGE_NO_SSH",
      `base image "${image}" has no SSH access configured (its manifest says "ssh": false), so ` +
        `strata cannot log in to run a step. Set "ssh": {"user": USER, "privateKey": FILE} in ` +
        `${image}.json to the account its installer created, or install it again with ` +
        `\`strata-image install ${image} --ssh-user USER [--ssh-key FILE] ...\`.`,
    );
  }
}

/**
 * The sandbox a `host` network runs in (a network namespace that keeps the guest away from this
 * host's loopback services and cloud metadata) could not be set up.
 */
export class QemuNetworkSandboxError extends QemuError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("QEMU_NETWORK_SANDBOX", message, options);
  }
}
