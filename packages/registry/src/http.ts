import createDebug from "debug";
import { parseChallenges } from "./challenge.js";
import type { CredentialResolver, Credentials } from "./credentials.js";
import {
  InsecureRegistryError,
  RegistryAuthError,
  RegistryDeniedError,
  RegistryError,
  RegistryNotFoundError,
  RegistryProtocolError,
  RegistryTimeoutError,
  RegistryUnreachableError,
} from "./errors.js";
import { isLoopbackRegistry } from "./reference.js";
import { sleep } from "./sleep.js";
import {
  type Answer,
  type FetchAnswer,
  fetchTransport,
  type StreamAnswer,
  streamTransport,
  type Transport,
} from "./transport.js";

const debug = createDebug("strata:registry");

/** Time allowed for a registry to send response headers, per request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Retries of a request that failed on the network or with 5xx/429 (idempotent requests only). */
export const DEFAULT_RETRIES = 2;
const MAX_REDIRECTS = 5;

/** How {@link HttpSession} reaches one registry. */
interface HttpSessionOptions {
  readonly registry: string;
  readonly insecure: boolean;
  readonly credentials: CredentialResolver;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly userAgent: string;
  readonly fetch: typeof fetch;
}

/** One request through {@link HttpSession.request}. */
interface RegistryRequest {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** Path below `/v2/`, or an absolute URL (upload locations). */
  readonly path: string;
  /** Token scopes the request needs (`repository:NAME:pull`...). */
  readonly scopes: readonly string[];
  readonly headers?: Record<string, string>;
  /** A body that can be sent again on a retry or after an auth challenge. */
  readonly body?: Uint8Array;
  /** A one-shot body (a stream); the request is not retried. */
  readonly stream?: () => ReadableStream<Uint8Array>;
  /** Statuses that are answers, not errors (404 included means "absent" is an answer). */
  readonly expect: readonly number[];
  readonly signal?: AbortSignal;
  /** What the request does, for error messages (`pull of blob sha256:...`). */
  readonly what: string;
}

/**
 * The HTTP side of one registry: URL scheme policy, the token flow (Basic or Bearer challenge,
 * tokens cached per scope), redirects that never downgrade to HTTP nor carry the Authorization
 * header to another host, retries of idempotent requests, and the mapping of statuses to errors.
 */
export class HttpSession {
  readonly baseUrl: string;
  readonly #options: HttpSessionOptions;
  readonly #authByScope = new Map<string, string>();
  readonly #fetch: Transport<FetchAnswer>;
  readonly #stream = streamTransport();
  #credentials: Promise<Credentials | undefined> | undefined;

  constructor(options: HttpSessionOptions) {
    this.#options = options;
    this.#fetch = fetchTransport(options.fetch);
    const scheme = isLoopbackRegistry(options.registry) || options.insecure ? "http" : "https";
    this.baseUrl = `${scheme}://${options.registry}/v2/`;
  }

  /** Sends a request through the session's `fetch`: auth, redirects, retries, errors. */
  async request(req: RegistryRequest): Promise<Response> {
    return (await this.#retrying(req, this.#fetch)).response;
  }

  /**
   * Sends a GET whose body is a blob to write to a file, as {@link request} does but through
   * undici's `request` API: the body comes as a Node stream that yields what arrived in
   * large pieces.
   */
  download(req: RegistryRequest & { readonly method: "GET" }): Promise<StreamAnswer> {
    return this.#retrying(req, this.#stream);
  }

  async #retrying<A extends Answer>(req: RegistryRequest, transport: Transport<A>): Promise<A> {
    const retriable = req.stream === undefined && req.method !== "POST" && req.method !== "PATCH";
    let attempt = 0;
    for (;;) {
      try {
        return await this.#requestOnce(req, transport);
      } catch (error) {
        const transient =
          error instanceof RegistryUnreachableError ||
          (error instanceof RegistryProtocolError &&
            (error.status === 429 || (error.status ?? 0) >= 500));
        if (!retriable || !transient || attempt >= this.#options.retries || req.signal?.aborted)
          throw error;
        attempt += 1;
        debug(
          "retry %d of %s %s after %s",
          attempt,
          req.method,
          req.path,
          (error as Error).message,
        );
        await sleep(200 * 2 ** attempt, req.signal);
      }
    }
  }

  async #requestOnce<A extends Answer>(req: RegistryRequest, transport: Transport<A>): Promise<A> {
    const scopeKey = req.scopes.join(" ");
    let response = await this.#send(req, this.#authByScope.get(scopeKey), transport);
    if (response.status === 401) {
      const header = response.header("www-authenticate") ?? "";
      await response.discard();
      const authorization = await this.#authorize(header, req);
      this.#authByScope.set(scopeKey, authorization);
      response = await this.#send(req, authorization, transport);
      if (response.status === 401) {
        await response.discard();
        const credentials = await this.#getCredentials();
        throw new RegistryAuthError(this.#options.registry, credentials !== undefined, scopeKey);
      }
    }
    if (req.expect.includes(response.status)) return response;
    const detail = await readErrorDetail(response);
    if (response.status === 404) throw new RegistryNotFoundError(req.what);
    if (response.status === 403) throw new RegistryDeniedError(this.#options.registry, req.what);
    throw new RegistryProtocolError(
      `The registry ${this.#options.registry} answered ${response.status} to the ${req.what}${detail ? `: ${detail}` : ""}.`,
      response.status,
    );
  }

  async #send<A extends Answer>(
    req: RegistryRequest,
    authorization: string | undefined,
    transport: Transport<A>,
  ): Promise<A> {
    let url = new URL(req.path, this.baseUrl);
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      this.#checkScheme(url);
      const headers: Record<string, string> = {
        "user-agent": this.#options.userAgent,
        ...req.headers,
      };
      if (authorization && url.origin === origin) headers.authorization = authorization;
      // The time limit covers the response headers only: a big blob's body may take longer.
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), this.#options.timeoutMs);
      const signal = req.signal ? AbortSignal.any([req.signal, timeout.signal]) : timeout.signal;
      debug("%s %s", req.method, url.href);
      let response: A;
      try {
        response = await transport(url, {
          method: req.method,
          headers,
          signal,
          ...(req.body ? { body: req.body } : {}),
          ...(req.stream ? { stream: req.stream } : {}),
        });
      } catch (error) {
        if (req.signal?.aborted) throw req.signal.reason ?? error;
        if (timeout.signal.aborted)
          throw new RegistryTimeoutError(url.href, this.#options.timeoutMs);
        if (error instanceof RegistryError) throw error;
        throw new RegistryUnreachableError(url.origin, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      const location = response.header("location");
      const redirect = [301, 302, 303, 307, 308].includes(response.status) && location;
      // Upload sessions answer 202/201 with a Location that is data, not a redirect.
      if (!redirect || req.method === "POST" || req.method === "PUT" || req.method === "PATCH") {
        return response;
      }
      await response.discard();
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryProtocolError(`Too many redirects for the ${req.what}.`, response.status);
      }
      url = new URL(location, url);
    }
  }

  #checkScheme(url: URL): void {
    if (url.protocol === "https:") return;
    if (url.protocol !== "http:") {
      throw new RegistryProtocolError(
        `The registry sent the client to ${url.protocol} URL ${url.href}.`,
      );
    }
    if (!this.#options.insecure && !isLoopbackRegistry(url.host))
      throw new InsecureRegistryError(url.host);
  }

  #getCredentials(): Promise<Credentials | undefined> {
    this.#credentials ??= this.#options.credentials(this.#options.registry);
    return this.#credentials;
  }

  async #authorize(header: string, req: RegistryRequest): Promise<string> {
    const challenges = parseChallenges(header);
    const credentials = await this.#getCredentials();
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer?.params.realm)
      return `Bearer ${await this.#fetchToken(bearer.params, credentials, req)}`;
    if (challenges.some((c) => c.scheme === "basic") && credentials?.username !== undefined) {
      const pair = `${credentials.username}:${credentials.password ?? ""}`;
      return `Basic ${Buffer.from(pair).toString("base64")}`;
    }
    throw new RegistryAuthError(
      this.#options.registry,
      credentials !== undefined,
      req.scopes.join(" "),
    );
  }

  async #fetchToken(
    params: Readonly<Record<string, string>>,
    credentials: Credentials | undefined,
    req: RegistryRequest,
  ): Promise<string> {
    const realm = new URL(params.realm ?? "");
    this.#checkScheme(realm);
    const headers: Record<string, string> = { "user-agent": this.#options.userAgent };
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    let response: Response;
    try {
      if (credentials?.identityToken) {
        // OAuth2 refresh-token grant, as `docker login` tokens are used.
        const form = new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: credentials.identityToken,
          client_id: "strata",
          ...(params.service ? { service: params.service } : {}),
          scope: req.scopes.join(" "),
        });
        headers["content-type"] = "application/x-www-form-urlencoded";
        response = await this.#options.fetch(realm, {
          method: "POST",
          headers,
          body: form,
          signal,
        });
      } else {
        if (params.service) realm.searchParams.set("service", params.service);
        for (const scope of req.scopes) realm.searchParams.append("scope", scope);
        if (credentials?.username !== undefined) {
          const pair = `${credentials.username}:${credentials.password ?? ""}`;
          headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
        }
        response = await this.#options.fetch(realm, { headers, signal });
      }
    } catch (error) {
      if (req.signal?.aborted) throw req.signal.reason ?? error;
      if (timeout.aborted) throw new RegistryTimeoutError(realm.href, this.#options.timeoutMs);
      throw new RegistryUnreachableError(realm.origin, { cause: error });
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      throw new RegistryAuthError(
        this.#options.registry,
        credentials !== undefined,
        req.scopes.join(" "),
      );
    }
    if (!response.ok) {
      throw new RegistryProtocolError(
        `The token service ${realm.origin} answered ${response.status}.`,
        response.status,
      );
    }
    const body = (await response.json().catch(() => ({}))) as {
      token?: string;
      access_token?: string;
    };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryProtocolError(`The token service ${realm.origin} sent no token.`);
    return token;
  }
}

async function readErrorDetail(response: Answer): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first) return `${first.code ?? ""} ${first.message ?? ""}`.trim();
  } catch {
    // Not the spec's JSON error body: quote a little of it instead.
  }
  return text.slice(0, 200).trim();
}
