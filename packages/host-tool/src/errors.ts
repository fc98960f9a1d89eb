import { boundTail } from "./tail.js";

export type HostToolErrorCode = "HOST_TOOL_FAILED" | "HOST_TOOL_MISSING";

/** Debian package that ships each host tool strata calls, for "install it with" messages. */
const TOOL_PACKAGES: Record<string, string> = {
  mmdebstrap: "mmdebstrap",
  mke2fs: "e2fsprogs",
  debugfs: "e2fsprogs",
  "qemu-img": "qemu-utils",
  "qemu-io": "qemu-utils",
  xorriso: "xorriso",
  genisoimage: "genisoimage",
  zstd: "zstd",
  lz4: "lz4",
  tar: "tar",
  "qemu-aarch64": "qemu-user-static",
  "qemu-riscv64": "qemu-user-static",
  fakeroot: "fakeroot",
  newuidmap: "uidmap",
  mcopy: "mtools",
  mlabel: "mtools",
  "mkfs.vfat": "dosfstools",
  ip: "iproute2",
};

/** The Debian package that ships `tool` (its own name when not known). */
export function packageOf(tool: string): string {
  return TOOL_PACKAGES[tool] ?? tool;
}

/** The base of this package's errors, for an app's list of known errors. */
export abstract class HostToolBaseError extends Error {
  abstract readonly code: HostToolErrorCode;
}

/** A host tool is not installed (not on PATH). */
export class HostToolMissingError extends HostToolBaseError {
  readonly code = "HOST_TOOL_MISSING";
  readonly tool: string;
  readonly debianPackage: string;
  /** `options.message`: what is missing and how to fix it, where "install it" is not all. */
  constructor(tool: string, options?: { cause?: unknown; message?: string }) {
    const debianPackage = packageOf(tool);
    super(
      options?.message ??
        `${tool} is not installed; install it with: apt-get install -y ${debianPackage}`,
      options,
    );
    this.name = "HostToolMissingError";
    this.tool = tool;
    this.debianPackage = debianPackage;
  }
}

/** What a failed run of a host tool left: its command, how it ended, the end of its output. */
export interface HostToolFailure {
  /** The command line, for messages (not for a shell). */
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  /** Killed after its timeout. */
  timedOut: boolean;
  /** Its last lines of output (stderr and stdout as they came), at most {@link MAX_TAIL_BYTES}. */
  tail: string;
}

/** A host tool exited non-zero, was killed, or ran over its timeout. */
export class HostToolError extends HostToolBaseError implements HostToolFailure {
  readonly code = "HOST_TOOL_FAILED";
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly timedOut: boolean;
  readonly tail: string;
  constructor(f: HostToolFailure, options?: { cause?: unknown }) {
    const tail = boundTail(f.tail);
    const how = f.timedOut
      ? "timed out"
      : f.signal
        ? `was killed by ${f.signal}`
        : `failed with exit code ${f.exitCode ?? "?"}`;
    super(`\`${f.command}\` ${how}${tail ? `:\n${tail}` : " (no output)"}`, options);
    this.name = "HostToolError";
    this.command = f.command;
    this.exitCode = f.exitCode;
    this.signal = f.signal;
    this.timedOut = f.timedOut;
    this.tail = tail;
  }
}
