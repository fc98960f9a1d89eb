import type { BuildEventListener } from "./events.js";

/** Raw states (about 200 MiB each for a 1 GiB guest) waiting for zstd at most. */
const MAX_WAITING = 2;

/**
 * Finishes saved VM states beside the build: a step's guest is paused only while its raw state
 * is written (`dumpVmState`), and the compression and the state's metadata (`finish`) run here
 * while the next step goes on. One at a time (zstd uses every core), at most
 * {@link MAX_WAITING} waiting. A failure is a warning: the layer is good, only later warm starts
 * lose its state. The build waits for them all before it ends ({@link settle}); cancelling the
 * build's signal cancels them, and each leaves its state whole or absent.
 */
export class StateWriter {
  #tail: Promise<void> = Promise.resolve();
  /** Layer directory -> its state's job, until it ends. */
  readonly #jobs = new Map<string, Promise<void>>();

  constructor(private readonly emit: BuildEventListener) {}

  /** Resolves once another raw state may be written (fewer than {@link MAX_WAITING} wait). */
  async room(): Promise<void> {
    while (this.#jobs.size >= MAX_WAITING) await Promise.race(this.#jobs.values());
  }

  /**
   * Queues `finish` for the state of the layer in `dir`; `what` names it in a warning. Once
   * `signal` is aborted its failure is not reported: `finish` sees the signal and cleans up.
   */
  add(dir: string, what: string, finish: () => Promise<void>, signal?: AbortSignal): void {
    // Run even when `signal` has cancelled the build: `finish` then removes what it was given.
    const job = this.#tail
      .then(finish)
      .catch((err: unknown) => {
        if (!signal?.aborted) this.warn(what, err);
      })
      .finally(() => {
        if (this.#jobs.get(dir) === job) this.#jobs.delete(dir);
      });
    this.#jobs.set(dir, job);
    this.#tail = job;
  }

  /** Says that the state of `what` was not saved (the layer is good). */
  warn(what: string, err: unknown): void {
    this.emit({
      type: "warning",
      message: `could not save the VM state of ${what} for later warm starts: ${(err as Error).message}`,
    });
  }

  /** Resolves once the state of the layer in `dir`, if one is being written, is done. */
  async written(dir: string): Promise<void> {
    await this.#jobs.get(dir);
  }

  /** Resolves once every queued state is done (written, failed, or cancelled). */
  async settle(): Promise<void> {
    await this.#tail;
  }
}
