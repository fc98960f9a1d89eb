import { EventEmitter } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import createDebug from "debug";
import { QemuCancelledError, QemuError, QmpClosedError, QmpCommandError } from "./errors.js";

const debug = createDebug("strata:qmp");

/** @default 10_000 */
export const DEFAULT_QMP_TIMEOUT_MS = 10_000;

/** An asynchronous QMP event (SHUTDOWN, POWERDOWN, RESET, STOP...). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpWaitOptions {
  signal?: AbortSignal | undefined;
  /** @default DEFAULT_QMP_TIMEOUT_MS */
  timeoutMs?: number | undefined;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Rejects with a typed error when `signal` aborts or `timeoutMs` passes; cleans up either way. */
function guard<T>(
  what: string,
  opts: QmpWaitOptions,
  run: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_QMP_TIMEOUT_MS;
    let cleanup = () => {};
    const done = (fn: () => void) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      cleanup();
      fn();
    };
    const onAbort = () =>
      done(() => reject(new QemuCancelledError(what, { cause: opts.signal?.reason })));
    const timer = setTimeout(
      () =>
        done(() =>
          reject(
            new QemuError("QEMU_QMP_ERROR", `Timed out after ${timeoutMs} ms waiting for ${what}.`),
          ),
        ),
      timeoutMs,
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    cleanup = run(
      (v) => done(() => resolve(v)),
      (e) => done(() => reject(e)),
    );
  });
}

/**
 * A QMP client on a connected socket: capabilities negotiation, commands matched to answers by
 * id, events through `on("event")`, `events()` or `waitForEvent()`.
 */
export class QmpClient extends EventEmitter implements AsyncDisposable {
  readonly socket: Socket;
  #nextId = 1;
  #pending = new Map<string, Pending>();
  #buffer = "";
  #closed = false;
  /** Resolves when the connection closes (QEMU exited or `close()` was called). */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    super();
    this.socket = socket;
    socket.setEncoding("utf8");
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.#closed = true;
        for (const p of this.#pending.values())
          p.reject(new QmpClosedError(`the answer to ${p.command}`));
        this.#pending.clear();
        this.emit("close");
        resolve();
      });
    });
    socket.on("error", (e) => debug("socket error", e.message));
  }

  /** Wraps a fresh socket: reads the greeting and negotiates capabilities. */
  static async fromSocket(socket: Socket, opts: QmpWaitOptions = {}): Promise<QmpClient> {
    const client = new QmpClient(socket);
    await guard<void>("the QMP greeting", opts, (resolve, reject) => {
      const onLine = (line: string) => {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg.QMP) resolve();
      };
      const onClose = () => reject(new QmpClosedError("the QMP greeting"));
      client.socket.on("data", client.#onData);
      client.once("greeting", onLine);
      client.once("close", onClose);
      return () => {
        client.off("greeting", onLine);
        client.off("close", onClose);
      };
    });
    await client.execute("qmp_capabilities", undefined, opts);
    return client;
  }

  /** Connects to a QMP server socket (`-qmp unix:PATH,server=on,wait=off`). */
  static async connect(path: string, opts: QmpWaitOptions = {}): Promise<QmpClient> {
    const socket = await guard<Socket>(`a connection to ${path}`, opts, (resolve, reject) => {
      const s = createConnection(path);
      s.once("connect", () => resolve(s));
      s.once("error", reject);
      return () => s.off("error", reject);
    });
    return QmpClient.fromSocket(socket, opts);
  }

  #onData = (chunk: string) => {
    this.#buffer += chunk;
    let nl = this.#buffer.indexOf("\n");
    while (nl >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line) this.#onLine(line);
      nl = this.#buffer.indexOf("\n");
    }
  };

  #onLine(line: string) {
    debug("<-", line);
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.QMP) this.emit("greeting", line);
    else if (typeof msg.event === "string") this.emit("event", msg as unknown as QmpEvent);
    else if (msg.id !== undefined) {
      const pending = this.#pending.get(String(msg.id));
      if (!pending) return;
      this.#pending.delete(String(msg.id));
      const err = msg.error as { class?: string; desc?: string } | undefined;
      if (err)
        pending.reject(new QmpCommandError(pending.command, err.class ?? "", err.desc ?? ""));
      else pending.resolve(msg.return);
    }
  }

  /** Runs a QMP command and resolves with its `return` value. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    opts: QmpWaitOptions = {},
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new QmpClosedError(`the answer to ${command}`));
    const id = String(this.#nextId++);
    return guard<T>(`the answer to ${command}`, opts, (resolve, reject) => {
      this.#pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      const line = JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id });
      debug("->", line);
      this.socket.write(`${line}\n`);
      return () => this.#pending.delete(id);
    });
  }

  /** Waits for the next event named `name` (register before triggering it). */
  waitForEvent(name: string, opts: QmpWaitOptions = {}): Promise<QmpEvent> {
    return guard<QmpEvent>(`the ${name} event`, opts, (resolve, reject) => {
      const onEvent = (e: QmpEvent) => e.event === name && resolve(e);
      const onClose = () => reject(new QmpClosedError(`the ${name} event`));
      this.on("event", onEvent);
      this.once("close", onClose);
      if (this.#closed) onClose();
      return () => {
        this.off("event", onEvent);
        this.off("close", onClose);
      };
    });
  }

  /** Every event from now until the connection closes. */
  async *events(): AsyncGenerator<QmpEvent> {
    const queue: QmpEvent[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (e: QmpEvent) => {
      queue.push(e);
      wake?.();
    };
    const onClose = () => wake?.();
    this.on("event", onEvent);
    this.on("close", onClose);
    try {
      while (true) {
        const next = queue.shift();
        if (next) yield next;
        else if (this.#closed) return;
        else await new Promise<void>((r) => (wake = r));
      }
    } finally {
      this.off("event", onEvent);
      this.off("close", onClose);
    }
  }

  /** Closes the connection (QEMU keeps running). */
  async close(): Promise<void> {
    this.socket.end();
    this.socket.destroy();
    await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A one-shot unix socket server that QEMU connects to (`-chardev socket,path=...` client mode). */
interface QmpListener {
  accept(opts?: QmpWaitOptions): Promise<QmpClient>;
  close(): void;
}

export async function listenQmp(path: string): Promise<QmpListener> {
  const server: Server = createServer();
  const first = new Promise<Socket>((resolve) => server.once("connection", resolve));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return {
    accept: async (opts = {}) => {
      const socket = await guard<Socket>("QEMU to connect to QMP", opts, (resolve) => {
        first.then(resolve);
        return () => {};
      });
      server.close();
      return QmpClient.fromSocket(socket, opts);
    },
    close: () => server.close(),
  };
}
