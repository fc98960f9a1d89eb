import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { RegistryClient } from "@strata/registry";
import type { Redis } from "ioredis";
import { create, extract } from "tar";
import { FleetContextTooLargeError, FleetError } from "./errors.js";
import { keys } from "./keys.js";
import type { ContextRef } from "./schema.js";

/** Largest packed context that travels in Redis (Redis holds it in memory). */
export const DEFAULT_CONTEXT_LIMIT_BYTES = 8 * 2 ** 20;
/** How long a context stays in Redis: long enough for a queue to drain and a job to retry. */
const CONTEXT_TTL_S = 2 * 24 * 3600;
/** Largest packed context a worker takes from a registry. */
const MAX_REGISTRY_CONTEXT_BYTES = 8 * 2 ** 30;

/** The fleet's registry, where contexts above the Redis limit travel as blobs. */
export interface ContextRegistry {
  readonly client: RegistryClient;
  readonly repository: string;
}

/** How a job names a registry: `host[:port]/repository`, compared by workers with their own. */
function registryName(r: ContextRegistry): string {
  return `${r.client.registry}/${r.repository}`;
}

/** Packs a context directory as a portable tar.gz (no owner names, no host-specific modes). */
export async function packContext(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = create({ gzip: true, cwd: dir, portable: true }, ["."]);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Stores a packed context under its SHA-256 (the same context submitted twice is stored once):
 * in Redis up to `limit` bytes, above that as a blob in the fleet's registry when there is one.
 */
export async function putContext(
  redis: Redis,
  packed: Buffer,
  options: { limit?: number; registry?: ContextRegistry | undefined; signal?: AbortSignal } = {},
): Promise<ContextRef> {
  const limit = options.limit ?? DEFAULT_CONTEXT_LIMIT_BYTES;
  const sha256 = createHash("sha256").update(packed).digest("hex");
  if (packed.length > limit) {
    if (!options.registry) throw new FleetContextTooLargeError(packed.length, limit);
    const digest = `sha256:${sha256}`;
    await options.registry.client.pushBlob(
      options.registry.repository,
      { digest, size: packed.length, data: packed },
      options.signal ? { signal: options.signal } : {},
    );
    return { kind: "registry", ref: registryName(options.registry), digest, bytes: packed.length };
  }
  await redis.set(keys.context(sha256), packed, "EX", CONTEXT_TTL_S);
  return { kind: "redis", sha256, bytes: packed.length };
}

/**
 * Fetches a job's context, checks its digest, and unpacks it into `dir`. Entries that would
 * land outside `dir` (absolute paths, `..`) are refused by tar's extraction rules. A context in
 * a registry is read only from this worker's own registry: a job cannot send it elsewhere.
 */
export async function fetchContext(
  redis: Redis,
  ref: ContextRef,
  dir: string,
  options: { registry?: ContextRegistry | undefined; signal?: AbortSignal } = {},
): Promise<void> {
  if (ref.kind === "registry") return fetchRegistryContext(ref, dir, options);
  const packed = await redis.getBuffer(keys.context(ref.sha256));
  if (packed === null)
    throw new FleetError(
      "FLEET_CONTEXT_UNAVAILABLE",
      `the job's context (sha256 ${ref.sha256.slice(0, 12)}) is no longer in Redis (it expires after ${CONTEXT_TTL_S / 3600} h); submit the build again`,
    );
  const sha256 = createHash("sha256").update(packed).digest("hex");
  if (sha256 !== ref.sha256)
    throw new FleetError(
      "FLEET_CONTEXT_UNAVAILABLE",
      `the job's context in Redis does not match its digest (${sha256.slice(0, 12)} != ${ref.sha256.slice(0, 12)}); submit the build again`,
    );
  await pipeline(Readable.from([packed]), extract({ cwd: dir, strict: true }));
}

async function fetchRegistryContext(
  ref: Extract<ContextRef, { kind: "registry" }>,
  dir: string,
  options: { registry?: ContextRegistry | undefined; signal?: AbortSignal },
): Promise<void> {
  const { registry } = options;
  if (!registry)
    throw new FleetError(
      "FLEET_CONTEXT_UNAVAILABLE",
      `the job's context is a blob in the registry ${ref.ref}; this worker has no --registry`,
    );
  if (ref.ref !== registryName(registry))
    throw new FleetError(
      "FLEET_CONTEXT_UNAVAILABLE",
      `the job's context is in the registry ${ref.ref}, not in this worker's (${registryName(registry)}); submit with the fleet's --registry`,
    );
  if (ref.bytes > MAX_REGISTRY_CONTEXT_BYTES)
    throw new FleetContextTooLargeError(ref.bytes, MAX_REGISTRY_CONTEXT_BYTES);
  const temp = await mkdtemp(join(tmpdir(), "strata-context-"));
  try {
    const file = join(temp, "context.tar.gz");
    // Verified against the digest (and the size) before a byte of it is unpacked.
    await registry.client.pullBlob(registry.repository, ref.digest, file, {
      size: ref.bytes,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    await pipeline(createReadStream(file), extract({ cwd: dir, strict: true }));
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
