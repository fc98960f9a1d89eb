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
};

interface RunToolOptions {
  stage: string;
  onProgress?: ImageProgressListener | undefined;
  signal?: AbortSignal | undefined;
  cwd?: string;
}

const TAIL_LINES = 30;

/** Runs a host tool, streams its output lines as progress, and throws a typed error on failure. */
export async function runTool(
  file: string,
  args: string[],
  options: RunToolOptions,
): Promise<void> {
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    if (options.onProgress) options.onProgress(classifyToolLine(options.stage, line));
  };
  const child = execa(file, args, {
    all: true,
    reject: false,
    cancelSignal: options.signal,
    cwd: options.cwd,
    stdin: "ignore",
    lines: false,
    buffer: false,
  });
  let pending = "";
  child.all?.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    // qemu-img -p redraws its counter with \r: each redraw counts as a line.
    const lines = pending.split(/\r\n|\r|\n/);
    pending = lines.pop() ?? "";
    for (const l of lines) onLine(l);
  });
  const result = await child;
  if (pending) onLine(pending);
  if (result.failed) {
    const cause = result as unknown as { code?: string };
    if (cause.code === "ENOENT") throw new MissingToolError(file, TOOL_PACKAGES[file] ?? file);
    if (result.isCanceled) throw options.signal?.reason ?? new Error("cancelled");
    throw new ImageCommandError(
      options.stage,
      [file, ...args].join(" "),
      result.exitCode,
      tail.join("\n"),
      { cause: result },
    );
  }
}
