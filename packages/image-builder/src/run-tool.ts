import { debianPackageOf, HostToolError, runHostTool } from "@strata/host-tool";
import { ImageCommandError, MissingToolError } from "./errors.js";
import type { ImageProgressListener } from "./progress.js";
import { classifyToolLine } from "./tool-progress.js";

interface RunToolOptions {
  stage: string;
  onProgress?: ImageProgressListener | undefined;
  signal?: AbortSignal | undefined;
  cwd?: string;
}

/** Bytes of a failed tool's output shown in its error. */
const TAIL_BYTES = 4096;

/** The image-builder's errors for a host tool's failure: a missing tool, or a failed stage. */
export function imageToolError(stage: string, error: unknown): unknown {
  if (!(error instanceof HostToolError)) return error;
  if (error.code === "HOST_TOOL_MISSING") {
    const tool = error.command.split(" ")[0] ?? error.command;
    return new MissingToolError(tool, debianPackageOf(tool));
  }
  return new ImageCommandError(stage, error.command, error.exitCode, error.stderrTail, {
    cause: error,
  });
}

/** Runs a host tool, streams its output lines as progress, and throws a typed error on failure. */
export async function runTool(
  file: string,
  args: string[],
  options: RunToolOptions,
): Promise<void> {
  const onProgress = options.onProgress;
  try {
    await runHostTool(file, args, {
      signal: options.signal,
      cwd: options.cwd,
      stdout: "lines",
      stderrTailBytes: TAIL_BYTES,
      onLine: onProgress ? (line) => onProgress(classifyToolLine(options.stage, line)) : undefined,
    });
  } catch (error) {
    throw imageToolError(options.stage, error);
  }
}
