import { HostToolError, runHostTool } from "@strata/host-tool";
import { ImageCommandError } from "./errors.js";
import type { ImageProgressListener, ImageStage } from "./progress.js";
import { classifyToolLine } from "./tool-progress.js";

interface RunToolOptions {
  stage: ImageStage;
  onProgress?: ImageProgressListener | undefined;
  signal?: AbortSignal | undefined;
  cwd?: string;
  /** Added to the environment. */
  env?: Record<string, string> | undefined;
}

/**
 * Runs a host tool of an image build through the host-tool runner, its output lines as
 * progress; a failure is an {@link ImageCommandError} of `stage` with the last lines of output.
 */
export async function runTool(
  file: string,
  args: string[],
  options: RunToolOptions,
): Promise<void> {
  try {
    await runHostTool(file, args, {
      signal: options.signal,
      cwd: options.cwd,
      env: options.env,
      onLine: (line) => options.onProgress?.(classifyToolLine(options.stage, line)),
    });
  } catch (error) {
    if (!(error instanceof HostToolError)) throw error;
    throw new ImageCommandError(options.stage, error.command, error.exitCode, error.tail, {
      cause: error,
    });
  }
}
