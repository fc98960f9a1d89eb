import { execa } from "execa";
import { ImageCommandError, MissingToolError } from "./errors.js";
import type { ImageProgressListener } from "./progress.js";
import { classifyToolLine } from "./tool-progress.js";

/** Debian package that ships each host tool we call, for "install it with" messages. */
const TOOL_PACKAGES: Record<string, string> = {
  mmdebstrap: "mmdebstrap",
  mke2fs: "e2fsprogs",
  "qemu-img": "qemu-utils",
  xorriso: "xorriso",
  genisoimage: "genisoimage",
  zstd: "zstd",
  tar: "tar",
  fakeroot: "fakeroot",
  newuidmap: "uidmap",
};

interface RunToolOptions {
  stage: string;
  onProgress?: ImageProgressListener | undefined;
  signal?: AbortSignal | undefined;
  cwd?: string;
  /** Added to the environment. */
  env?: Record<string, string> | undefined;
}

const TAIL_LINES = 30;

/** Output cut into lines as it comes, each given to `onLine`; the last `max` lines are kept. */
interface LineTail {
  write(chunk: Buffer): void;
  /** Ends the last line, if the output did not. */
  end(): void;
  readonly lines: readonly string[];
}

/** A {@link LineTail}; `split` is what ends a line. */
export function createLineTail(
  max: number,
  onLine: (line: string) => void,
  split: RegExp = /\n/,
): LineTail {
  const lines: string[] = [];
  let pending = "";
  const take = (line: string) => {
    lines.push(line);
    if (lines.length > max) lines.shift();
    onLine(line);
  };
  return {
    write(chunk) {
      pending += chunk.toString("utf8");
      const parts = pending.split(split);
      pending = parts.pop() ?? "";
      for (const l of parts) take(l);
    },
    end() {
      if (pending) take(pending);
      pending = "";
    },
    lines,
  };
}

/** Runs a host tool, streams its output lines as progress, and throws a typed error on failure. */
export async function runTool(
  file: string,
  args: string[],
  options: RunToolOptions,
): Promise<void> {
  // qemu-img -p redraws its counter with \r: each redraw counts as a line.
  const tail = createLineTail(
    TAIL_LINES,
    (line) => options.onProgress?.(classifyToolLine(options.stage, line)),
    /\r\n|\r|\n/,
  );
  const child = execa(file, args, {
    all: true,
    reject: false,
    cancelSignal: options.signal,
    cwd: options.cwd,
    env: options.env,
    stdin: "ignore",
    lines: false,
    buffer: false,
  });
  child.all?.on("data", (chunk: Buffer) => tail.write(chunk));
  const result = await child;
  tail.end();
  if (result.failed) {
    const cause = result as unknown as { code?: string };
    if (cause.code === "ENOENT") throw new MissingToolError(file, TOOL_PACKAGES[file] ?? file);
    if (result.isCanceled) throw options.signal?.reason ?? new Error("cancelled");
    throw new ImageCommandError(
      options.stage,
      [file, ...args].join(" "),
      result.exitCode,
      tail.lines.join("\n"),
      { cause: result },
    );
  }
}
