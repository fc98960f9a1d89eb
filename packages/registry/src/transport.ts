import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";

/** One HTTP exchange as {@link HttpSession} sends it, whatever carries it. */
export interface TransportRequest {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly signal: AbortSignal;
  /** A body that can be sent again. */
  readonly body?: Uint8Array;
  /** A one-shot streamed body. */
  readonly stream?: () => ReadableStream<Uint8Array>;
}

/** What a transport answers: enough for the session's auth, redirect and error handling. */
export interface Answer {
  readonly status: number;
  /** A response header, `null` when absent. */
  header(name: string): string | null;
  /** Drops the body (so the connection can be reused). */
  discard(): Promise<void>;
  /** The body as text, for error messages. */
  text(): Promise<string>;
}

/** Sends one request, following no redirect. */
export type Transport<A extends Answer> = (url: URL, req: TransportRequest) => Promise<A>;

/** A `fetch` response as an {@link Answer}. */
export interface FetchAnswer extends Answer {
  readonly response: Response;
}

/** The transport of every request but blob downloads: the `fetch` the client was given. */
export function fetchTransport(fetchFn: typeof fetch): Transport<FetchAnswer> {
  return async (url, req) => {
    const init: RequestInit & { duplex?: "half" } = {
      method: req.method,
      headers: req.headers,
      signal: req.signal,
      redirect: "manual",
    };
    if (req.body) init.body = req.body;
    else if (req.stream) {
      init.body = req.stream();
      init.duplex = "half";
    }
    const response = await fetchFn(url, init);
    return {
      response,
      status: response.status,
      header: (name) => response.headers.get(name),
      discard: async () => {
        await response.body?.cancel();
      },
      text: () => response.text(),
    };
  };
}

/** A download's answer: the body as a Node stream. */
export interface StreamAnswer extends Answer {
  /**
   * The body. Reading it with `read()` (or `for await`) yields everything buffered at once,
   * up to {@link DOWNLOAD_HIGH_WATER_MARK} bytes.
   */
  readonly body: Readable;
}

/**
 * Bytes a download's body buffers before the socket is paused: while a write to the file
 * runs, up to this much arrives and goes out in the next write.
 */
const DOWNLOAD_HIGH_WATER_MARK = 2 * 1024 * 1024;

let agent: Dispatcher | undefined;

/**
 * The transport of blob downloads: undici's `request` API (the HTTP client under Node's
 * `fetch`, without the WHATWG stream that costs `fetch` ~10x curl's CPU per byte). Its own
 * connection pool; TLS from Node's defaults, as for `fetch`. GET and HEAD only.
 */
export function streamTransport(): Transport<StreamAnswer> {
  return async (url, req) => {
    if (req.body || req.stream) throw new TypeError("the stream transport sends no body");
    const undici = await import("undici");
    agent ??= new undici.Agent();
    const response = await undici.request(url, {
      method: req.method as Dispatcher.HttpMethod,
      headers: req.headers,
      signal: req.signal,
      dispatcher: agent,
      highWaterMark: DOWNLOAD_HIGH_WATER_MARK,
    });
    const body = response.body;
    return {
      status: response.statusCode,
      header: (name) => headerValue(response.headers[name.toLowerCase()]),
      discard: () => body.dump(),
      text: () => body.text(),
      body,
    };
  };
}

function headerValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(", ") : value;
}
