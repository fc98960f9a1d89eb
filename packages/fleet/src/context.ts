import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Redis } from "ioredis";
import { create, extract } from "tar";
import { FleetContextTooLargeError, FleetError } from "./errors.js";
import { keys } from "./keys.js";
import type { ContextRef } from "./schema.js";

/** Largest packed context that travels in Redis (Redis holds it in memory). */
export const DEFAULT_CONTEXT_LIMIT_BYTES = 8 * 2 ** 20;
/** How long a context stays in Redis: long enough for a queue to drain and a job to retry. */
export const CONTEXT_TTL_S = 2 * 24 * 3600;

/** Packs a context directory as a portable tar.gz (no owner names, no host-specific modes). */
export async function packContext(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = create({ gzip: true, cwd: dir, portable: true }, ["."]);
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Stores a packed context under its SHA-256 (the same context submitted twice is stored once). */
export async function putContext(
  redis: Redis,
  packed: Buffer,
  limit = DEFAULT_CONTEXT_LIMIT_BYTES,
): Promise<ContextRef> {
  if (packed.length > limit) throw new FleetContextTooLargeError(packed.length, limit);
  const sha256 = createHash("sha256").update(packed).digest("hex");
  await redis.set(keys.context(sha256), packed, "EX", CONTEXT_TTL_S);
  return { kind: "redis", sha256, bytes: packed.length };
}

/**
 * Fetches a job's context, checks its digest, and unpacks it into `dir`. Entries that would
 * land outside `dir` (absolute paths, `..`) are refused by tar's extraction rules.
 */
export async function fetchContext(redis: Redis, ref: ContextRef, dir: string): Promise<void> {
  if (ref.kind !== "redis")
    throw new FleetError(
      "FLEET_CONTEXT_UNAVAILABLE",
      "this worker cannot fetch contexts from a registry; run a worker with --registry",
    );
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
