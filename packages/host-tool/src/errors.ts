/** Stable codes of the errors this package throws. */
export type HostToolErrorCode = "HOST_TOOL_FAILED" | "HOST_TOOL_TIMEOUT" | "HOST_TOOL_MISSING";

/** What the runner knows of a failed run, for {@link HostToolError}. */
export interface HostToolFailure {
  /** The program and its arguments, space-joined (for messages, not for a shell). */
  command: string;
  /** The exit status, or undefined when the process was killed or never started. */
  exitCode: number | undefined;
  /** The signal that ended the process (`SIGTERM`, ...), if one did. */
  signalName: string | undefined;
  /** The last bytes of what the tool wrote to stderr (and stdout, in lines mode). */
  stderrTail: string;
}

/** Debian package that ships each host tool strata calls, for "install it with" messages. */
const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  cp: "coreutils",
  dd: "coreutils",
  debugfs: "e2fsprogs",
  genisoimage: "genisoimage",
  ip: "iproute2",
  lz4: "lz4",
  mcopy: "mtools",
  mke2fs: "e2fsprogs",
  "mkfs.vfat": "dosfstools",
  mmdebstrap: "mmdebstrap",
  "qemu-img": "qemu-utils",
  "qemu-io": "qemu-utils",
  tar: "tar",
  truncate: "coreutils",
  xorriso: "xorriso",
  zstd: "zstd",
};

/** The Debian package that ships `tool` (its own name when we do not know better). */
export function debianPackageOf(tool: string): string {
  const base = tool.slice(tool.lastIndexOf("/") + 1);
  return DEBIAN_PACKAGES[base] ?? (base.startsWith("qemu-system-") ? "qemu-system" : base);
}

function describe(code: HostToolErrorCode, f: HostToolFailure, timeoutMs?: number): string {
  const tail = f.stderrTail.trim();
  const output = tail ? `:\n${tail}` : " (it wrote nothing to stderr).";
  if (code === "HOST_TOOL_MISSING") {
    const tool = f.command.split(" ")[0] ?? f.command;
    return `${tool} is not installed or not on PATH; install it with: apt-get install -y ${debianPackageOf(tool)}`;
  }
  if (code === "HOST_TOOL_TIMEOUT") {
    return `\`${f.command}\` did not finish within ${timeoutMs ?? "?"} ms and was stopped${output}`;
  }
  const how =
    f.exitCode !== undefined
      ? ` with exit code ${f.exitCode}`
      : f.signalName
        ? ` (killed by ${f.signalName})`
        : "";
  return `\`${f.command}\` failed${how}${output}`;
}

/**
 * A host tool failed: it exited non-zero, was killed, ran past its timeout, or is not installed.
 * `stderrTail` is bounded, so a chatty tool cannot fill memory or a terminal.
 */
export class HostToolError extends Error implements HostToolFailure {
  readonly code: HostToolErrorCode;
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signalName: string | undefined;
  readonly stderrTail: string;
  constructor(
    code: HostToolErrorCode,
    failure: HostToolFailure,
    options?: { cause?: unknown; timeoutMs?: number | undefined },
  ) {
    super(describe(code, failure, options?.timeoutMs), { cause: options?.cause });
    this.name = "HostToolError";
    this.code = code;
    this.command = failure.command;
    this.exitCode = failure.exitCode;
    this.signalName = failure.signalName;
    this.stderrTail = failure.stderrTail;
  }
}
