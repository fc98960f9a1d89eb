import type { CliIo } from "./io.js";

/** A {@link CliIo} that records what a command writes, for tests and embedding. */
export function captureIo(cwd: string, signal: AbortSignal = new AbortController().signal) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    cwd,
    signal,
  };
  return { io, stdout: () => stdout, stderr: () => stderr };
}
