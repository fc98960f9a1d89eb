import { Readable } from "node:stream";
import { type PullBlobOptions, type PullBlobResult, pullBlobToFile } from "./blob-pull.js";
import { type CredentialResolver, dockerConfigCredentials } from "./credentials.js";
import { digestOf, verifyDigest } from "./digest.js";
import { DigestMismatchError, RegistryProtocolError } from "./errors.js";
import { DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_RETRIES, HttpSession } from "./http.js";
import { type Descriptor, MANIFEST_ACCEPT } from "./media-types.js";
import { isDigest } from "./reference.js";
import { Semaphore } from "./semaphore.js";

/** Blob transfers one client runs at once, whatever its callers ask. */
export const DEFAULT_CONCURRENCY = 4;
/** Largest manifest or config read into memory. */
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const PROGRESS_SLICE = 1024 * 1024;

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** `host[:port]` of the registry. */
  readonly registry: string;
  /** Allow plain HTTP to a host that is not loopback. @default false */
  readonly insecure?: boolean;
  /** Where credentials come from. @default dockerConfigCredentials() */
  readonly credentials?: CredentialResolver;
  /** Blob pushes and pulls in flight at once. @default DEFAULT_CONCURRENCY (4) */
  readonly concurrency?: number;
  /** Time for response headers, per request. @default DEFAULT_REQUEST_TIMEOUT_MS (30 s) */
  readonly timeoutMs?: number;
  /** Retries of idempotent requests after network errors, 5xx or 429. @default DEFAULT_RETRIES (2) */
  readonly retries?: number;
  /** @default "strata-registry/0.1" */
  readonly userAgent?: string;
  /**
   * The fetch of every request but `pullBlob`'s download (which uses undici's `request` API).
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
}

/** A blob to push: bytes in memory, or a stream opened on demand (once). */
export type BlobSource =
  | { readonly digest: string; readonly size: number; readonly data: Uint8Array }
  | { readonly digest: string; readonly size: number; readonly parts: readonly Uint8Array[] }
  | { readonly digest: string; readonly size: number; readonly open: () => Readable };

/** Options of {@link RegistryClient.pushBlob}. */
export interface PushBlobOptions {
  /** Repositories of the same registry that may hold the blob already (cross-repo mount). */
  readonly mountFrom?: readonly string[];
  readonly signal?: AbortSignal;
  /** Called with the number of bytes sent as they go. */
  readonly onProgress?: (bytes: number) => void;
}

/** How a pushed blob got there: already present (HEAD), mounted from another repo, or sent. */
export interface PushBlobResult {
  readonly digest: string;
  readonly size: number;
  readonly outcome: "exists" | "mounted" | "uploaded";
}

/** A manifest as fetched: its exact bytes (which the digest names), media type and parsed JSON. */
export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly json: unknown;
}

/** Request options every call takes. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

/**
 * A small OCI distribution client on undici (`fetch`, and `request` for blob downloads): blobs
 * (HEAD, cross-repo mount, monolithic upload, ranged resumable download), manifests and tags,
 * each verified against its digest. One client talks to one registry and bounds its own blob
 * concurrency.
 */
export class RegistryClient {
  readonly registry: string;
  readonly #http: HttpSession;
  readonly #slots: Semaphore;

  constructor(options: RegistryClientOptions) {
    this.registry = options.registry;
    this.#http = new HttpSession({
      registry: options.registry,
      insecure: options.insecure ?? false,
      credentials: options.credentials ?? dockerConfigCredentials(),
      timeoutMs: options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      retries: options.retries ?? DEFAULT_RETRIES,
      userAgent: options.userAgent ?? "strata-registry/0.1",
      fetch: options.fetch ?? globalThis.fetch,
    });
    this.#slots = new Semaphore(options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /** The registry's `/v2/` base URL (scheme chosen by the loopback/insecure rule). */
  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /** Checks that the registry speaks the distribution API and accepts our credentials for `repository`. */
  async ping(repository: string, options: CallOptions = {}): Promise<void> {
    const response = await this.#http.request({
      method: "GET",
      path: `${repository}/tags/list?n=1`,
      scopes: [`repository:${repository}:pull`],
      expect: [200, 404],
      ...options,
      what: `tag list of ${repository}`,
    });
    await response.body?.cancel();
  }

  /** The blob's size when the registry holds it, else `undefined`. */
  async hasBlob(
    repository: string,
    digest: string,
    options: CallOptions = {},
  ): Promise<number | undefined> {
    assertDigest(digest);
    const response = await this.#http.request({
      method: "HEAD",
      path: `${repository}/blobs/${digest}`,
      scopes: [`repository:${repository}:pull`],
      expect: [200, 404],
      ...options,
      what: `check of blob ${digest} in ${repository}`,
    });
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    return Number(response.headers.get("content-length") ?? "0");
  }

  /**
   * Pushes a blob unless the registry has it: HEAD first, then a cross-repo mount from each of
   * `mountFrom`, then one monolithic upload. The registry verifies the digest on upload.
   */
  async pushBlob(
    repository: string,
    blob: BlobSource,
    options: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    assertDigest(blob.digest);
    using _slot = await this.#slots.acquire(options.signal);
    const { digest, size } = blob;
    if ((await this.hasBlob(repository, digest, options)) !== undefined) {
      return { digest, size, outcome: "exists" };
    }
    const pushScope = `repository:${repository}:pull,push`;
    let location: string | undefined;
    for (const from of options.mountFrom ?? []) {
      if (from === repository) continue;
      const response = await this.#http.request({
        method: "POST",
        path: `${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
        scopes: [pushScope, `repository:${from}:pull`],
        expect: [201, 202],
        ...signalOf(options),
        what: `mount of blob ${digest} from ${from} into ${repository}`,
      });
      await response.body?.cancel();
      if (response.status === 201) return { digest, size, outcome: "mounted" };
      // 202: the registry started an ordinary upload instead; use it.
      location = response.headers.get("location") ?? undefined;
      break;
    }
    if (location === undefined) {
      const response = await this.#http.request({
        method: "POST",
        path: `${repository}/blobs/uploads/`,
        scopes: [pushScope],
        expect: [202],
        ...signalOf(options),
        what: `upload of blob ${digest} to ${repository}`,
      });
      await response.body?.cancel();
      location = response.headers.get("location") ?? undefined;
    }
    if (!location) {
      throw new RegistryProtocolError(
        `The registry started an upload of ${digest} but gave no Location.`,
      );
    }
    const url = new URL(location, this.#http.baseUrl);
    url.searchParams.set("digest", digest);
    const response = await this.#http.request({
      method: "PUT",
      path: url.href,
      scopes: [pushScope],
      headers: { "content-type": "application/octet-stream", "content-length": String(size) },
      stream: () => bodyStream(blob, options.onProgress),
      expect: [201],
      ...signalOf(options),
      what: `upload of blob ${digest} to ${repository}`,
    });
    await response.body?.cancel();
    const stored = response.headers.get("docker-content-digest");
    if (stored && stored !== digest)
      throw new DigestMismatchError(`Blob pushed to ${repository}`, digest, stored);
    return { digest, size, outcome: "uploaded" };
  }

  /**
   * Downloads a blob to `path`, resuming from a prefix already there and after dropped
   * connections (`Range`), verified against `digest` (a mismatch deletes the file).
   */
  async pullBlob(
    repository: string,
    digest: string,
    path: string,
    options: PullBlobOptions = {},
  ): Promise<PullBlobResult> {
    assertDigest(digest);
    using _slot = await this.#slots.acquire(options.signal);
    // Awaited here: the slot is held until the download ends, not only until it starts.
    return await pullBlobToFile(this.#http, repository, digest, path, options);
  }

  /** Reads a small blob (a config) into memory, verified. */
  async readBlob(
    repository: string,
    digest: string,
    options: CallOptions & { maxBytes?: number } = {},
  ): Promise<Buffer> {
    assertDigest(digest);
    const response = await this.#http.request({
      method: "GET",
      path: `${repository}/blobs/${digest}`,
      scopes: [`repository:${repository}:pull`],
      expect: [200],
      ...signalOf(options),
      what: `pull of blob ${digest} from ${repository}`,
    });
    const bytes = await readLimited(
      response,
      options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
      digest,
    );
    verifyDigest(`Blob ${digest} from ${repository}`, bytes, digest);
    return bytes;
  }

  /**
   * Reads the small blob `descriptor` names (a config, a log) into memory, verified against
   * its digest and size: from its embedded `data` when it has one (no request), else from the
   * registry. Embedded data that is not canonical base64 or does not match is refused, not
   * fetched instead: the manifest that carries it is not to be trusted.
   */
  async readDescribed(
    repository: string,
    descriptor: Descriptor,
    options: CallOptions & { maxBytes?: number } = {},
  ): Promise<Buffer> {
    const { digest, size, data } = descriptor;
    assertDigest(digest);
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    if (size > maxBytes) {
      throw new RegistryProtocolError(
        `Blob ${digest} in ${repository} is ${size} bytes, more than the ${maxBytes} read into memory.`,
      );
    }
    if (data === undefined)
      return this.readBlob(repository, digest, { ...options, maxBytes: size });
    const bytes = Buffer.from(data, "base64");
    if (bytes.toString("base64") !== data || bytes.length !== size) {
      throw new RegistryProtocolError(
        `The data embedded for blob ${digest} in ${repository} is not ${size} bytes of base64.`,
      );
    }
    verifyDigest(`Data embedded for blob ${digest} in ${repository}`, bytes, digest);
    return bytes;
  }

  /**
   * Fetches a manifest by tag or digest. Its bytes are verified against the digest asked for,
   * or against the registry's `Docker-Content-Digest` for a tag.
   */
  async getManifest(
    repository: string,
    reference: string,
    options: CallOptions & { accept?: readonly string[]; maxBytes?: number } = {},
  ): Promise<FetchedManifest> {
    const response = await this.#http.request({
      method: "GET",
      path: `${repository}/manifests/${reference}`,
      scopes: [`repository:${repository}:pull`],
      headers: { accept: (options.accept ?? MANIFEST_ACCEPT).join(", ") },
      expect: [200],
      ...signalOf(options),
      what: `manifest ${repository}:${reference}`,
    });
    const bytes = await readLimited(
      response,
      options.maxBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
      reference,
    );
    const digest = digestOf(bytes);
    const claimed = isDigest(reference) ? reference : response.headers.get("docker-content-digest");
    if (claimed && claimed !== digest) {
      throw new DigestMismatchError(`Manifest ${repository}:${reference}`, claimed, digest);
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString("utf8"));
    } catch (cause) {
      throw new RegistryProtocolError(`Manifest ${repository}:${reference} is not JSON.`, 200, {
        cause,
      });
    }
    const mediaType =
      (json as { mediaType?: string }).mediaType ?? response.headers.get("content-type") ?? "";
    return { digest, mediaType, bytes, json };
  }

  /** The digest and size of a manifest when it exists, without fetching it. */
  async headManifest(
    repository: string,
    reference: string,
    options: CallOptions & { accept?: readonly string[] } = {},
  ): Promise<{ digest: string; size: number } | undefined> {
    const response = await this.#http.request({
      method: "HEAD",
      path: `${repository}/manifests/${reference}`,
      scopes: [`repository:${repository}:pull`],
      headers: { accept: (options.accept ?? MANIFEST_ACCEPT).join(", ") },
      expect: [200, 404],
      ...signalOf(options),
      what: `check of manifest ${repository}:${reference}`,
    });
    await response.body?.cancel();
    if (response.status === 404) return undefined;
    return {
      digest: response.headers.get("docker-content-digest") ?? "",
      size: Number(response.headers.get("content-length") ?? "0"),
    };
  }

  /** Puts a manifest under a tag (or its digest); returns its digest. */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    options: CallOptions = {},
  ): Promise<string> {
    const digest = digestOf(bytes);
    const response = await this.#http.request({
      method: "PUT",
      path: `${repository}/manifests/${reference}`,
      scopes: [`repository:${repository}:pull,push`],
      headers: { "content-type": mediaType },
      body: bytes,
      expect: [201],
      ...signalOf(options),
      what: `push of manifest ${repository}:${reference}`,
    });
    await response.body?.cancel();
    const stored = response.headers.get("docker-content-digest");
    if (stored && stored !== digest) {
      throw new DigestMismatchError(
        `Manifest pushed to ${repository}:${reference}`,
        digest,
        stored,
      );
    }
    return digest;
  }

  /** Every tag of a repository (following `Link` pagination); none when the repository is absent. */
  async listTags(repository: string, options: CallOptions = {}): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `${repository}/tags/list?n=1000`;
    while (path) {
      const response: Response = await this.#http.request({
        method: "GET",
        path,
        scopes: [`repository:${repository}:pull`],
        expect: [200, 404],
        ...signalOf(options),
        what: `tag list of ${repository}`,
      });
      if (response.status === 404) {
        await response.body?.cancel();
        return tags;
      }
      const body = (await response.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = response.headers.get("link");
      const next = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
      path = next ? new URL(next, this.#http.baseUrl).href : undefined;
    }
    return tags;
  }
}

function signalOf(options: CallOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

function assertDigest(digest: string): void {
  if (!isDigest(digest)) {
    throw new RegistryProtocolError(`${JSON.stringify(digest)} is not a sha256:<64 hex> digest.`);
  }
}

function bodyStream(
  blob: BlobSource,
  onProgress?: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    "data" in blob
      ? sliceBytes(blob.data)
      : "parts" in blob
        ? blob.parts
        : (blob.open() as AsyncIterable<Uint8Array>);
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      onProgress?.(chunk.byteLength);
      yield chunk;
    }
  }
  return Readable.toWeb(Readable.from(counted())) as ReadableStream<Uint8Array>;
}

function* sliceBytes(data: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += PROGRESS_SLICE) {
    yield data.subarray(at, Math.min(at + PROGRESS_SLICE, data.byteLength));
  }
}

async function readLimited(response: Response, maxBytes: number, what: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new RegistryProtocolError(
        `${what} is larger than the ${maxBytes} bytes allowed for it.`,
      );
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}
