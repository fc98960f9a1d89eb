import { type FSWatcher, readSync, watch } from "node:fs";

/** Options of {@link tailFile}. */
interface TailOptions {
  onChunk: (chunk: Buffer) => void;
  /** Checked after each read; once true, the file is read to its end one last time. */
  isFinished: () => boolean;
  /** Watched for changes to wake up early; polling covers filesystems where watching fails. */
  watchPath?: string;
  signal?: AbortSignal;
  /** @default DEFAULT_TAIL_POLL_MS */
  pollMs?: number;
}

const DEFAULT_TAIL_POLL_MS = 100;

/**
 * Streams an open file from offset 0 while another process appends to it. Reading through the
 * descriptor (not the path) keeps working when the writer renames the file into `result/` or
 * unlinks it after a failure. Without a descriptor, it only waits for `isFinished`.
 */
export async function tailFile(fd: number | undefined, options: TailOptions): Promise<void> {
  const buffer = Buffer.alloc(64 * 1024);
  let offset = 0;
  // Synchronous reads: a local file, read in 64 KiB pieces, never blocks for long.
  const drain = () => {
    if (fd === undefined) return;
    for (;;) {
      const bytesRead = readSync(fd, buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      options.onChunk(Buffer.from(buffer.subarray(0, bytesRead)));
    }
  };
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    if (options.watchPath) watcher = watch(options.watchPath, () => wake?.());
    watcher?.on("error", () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  const onAbort = () => wake?.();
  options.signal?.addEventListener("abort", onAbort);
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      drain();
      if (options.isFinished()) {
        drain();
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? DEFAULT_TAIL_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    watcher?.close();
  }
}
