import { StepCancelledError, StepFailedError, StoreError } from "./errors.js";

/** What a build call resolves to. */
export interface BuildResult {
  id: string;
  /** True when the layer already existed: its log was replayed, nothing ran. */
  cached: boolean;
  /** True when another build call (in this process or another) ran the step for us. */
  shared: boolean;
}

interface Client {
  onLog: ((chunk: Buffer) => void) | undefined;
  resolve: (result: BuildResult) => void;
  reject: (error: unknown) => void;
  shared: boolean;
  detach: () => void;
}

/**
 * One in-process run of a step that several build calls share. Every client sees the output from
 * the first byte, then live. A client whose signal aborts leaves alone; the run itself is
 * cancelled (through `signal`) only when the last client has left.
 */
export class SharedRun {
  readonly #controller = new AbortController();
  readonly #chunks: Buffer[] = [];
  readonly #clients = new Set<Client>();
  #finished = false;

  constructor(readonly id: string) {}

  /** Aborted once every client has cancelled. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  join(onLog?: (chunk: Buffer) => void, signal?: AbortSignal, shared = true): Promise<BuildResult> {
    return new Promise<BuildResult>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new StepCancelledError(this.id, { cause: signal.reason }));
        return;
      }
      const onAbort = () =>
        this.#leave(client, new StepCancelledError(this.id, { cause: signal?.reason }));
      const client: Client = {
        onLog,
        shared,
        resolve,
        reject,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      this.#clients.add(client);
      signal?.addEventListener("abort", onAbort, { once: true });
      for (const chunk of this.#chunks) {
        if (!this.#deliver(client, chunk)) return;
      }
    });
  }

  /** Sends a chunk of the step's output to every client (and to those who join later). */
  log(chunk: Buffer): void {
    this.#chunks.push(chunk);
    for (const client of this.#clients) this.#deliver(client, chunk);
  }

  succeed(): void {
    this.#finish((client) => client.resolve({ id: this.id, cached: false, shared: client.shared }));
  }

  /**
   * The client that started the run gets `error` itself; clients that joined it get a
   * {@link StepFailedError} (the original as `cause`), as waiters in other processes do. The
   * store's own errors (disk full, cancelled...) reach everyone unchanged.
   */
  fail(error: unknown): void {
    const shared =
      error instanceof StoreError
        ? error
        : new StepFailedError(this.id, error instanceof Error ? error.message : String(error), {
            cause: error,
          });
    this.#finish((client) => client.reject(client.shared ? shared : error));
  }

  #finish(settle: (client: Client) => void): void {
    this.#finished = true;
    for (const client of this.#clients) {
      client.detach();
      settle(client);
    }
    this.#clients.clear();
  }

  #leave(client: Client, error: unknown): void {
    if (!this.#clients.delete(client)) return;
    client.detach();
    client.reject(error);
    if (this.#clients.size === 0 && !this.#finished) this.#controller.abort(error);
  }

  // A client whose log callback throws is dropped with that error; the others carry on.
  #deliver(client: Client, chunk: Buffer): boolean {
    try {
      client.onLog?.(chunk);
      return true;
    } catch (error) {
      this.#leave(client, error);
      return false;
    }
  }
}
