import { Redis } from "ioredis";
import { FleetOptionsError, FleetRedisError } from "./errors.js";

/** How long a first connection may take before the command gives up. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Checks a `--queue` URL: `redis://[USER:PASSWORD@]HOST[:PORT][/DB]` or `rediss://` for TLS
 * (the server's certificate is checked against Node's CAs; add yours with NODE_EXTRA_CA_CERTS).
 */
export function parseQueueUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FleetOptionsError(
      `option "--queue": "${text}" is not a URL; use redis://HOST:PORT or rediss://HOST:PORT`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new FleetOptionsError(
      `option "--queue": "${redactUrl(url)}" must start with redis:// or rediss:// (TLS)`,
    );
  if (url.hostname === "")
    throw new FleetOptionsError(`option "--queue": "${redactUrl(url)}" names no host`);
  return url;
}

/** The URL without its password, for messages and `strata fleet ls`. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password) copy.password = "***";
  return copy.href;
}

/**
 * A Redis connection as BullMQ needs it (requests wait through reconnects instead of failing:
 * a Redis restart or a network blip is ridden out, not reported as a failed job). Each call
 * opens one connection; close it with `quit()` or `disconnect()`.
 */
export function openRedis(url: URL): Redis {
  const redis = new Redis(url.href, {
    maxRetriesPerRequest: null,
    // Reconnect forever, backing off to 2 s: workers are long-running and must outlive outages.
    retryStrategy: (times) => Math.min(times * 100, 2000),
    connectionName: "strata",
  });
  // ioredis reports connection errors as events; without a listener Node would print them.
  // The last one is kept for the message of a connection that never comes up.
  redis.on("error", (err: Error) => {
    lastErrors.set(redis, err);
  });
  return redis;
}

const lastErrors = new WeakMap<Redis, Error>();

/** Waits until Redis answers a PING, or fails with what went wrong (refused, auth, timeout). */
export async function waitForRedis(
  redis: Redis,
  url: URL,
  timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const last = lastErrors.get(redis);
      reject(
        new FleetRedisError(
          `cannot reach Redis at ${redactUrl(url)} within ${Math.round(timeoutMs / 1000)} s${last ? ` (${last.message})` : ""}; check the URL, the password and that redis-server runs`,
          { cause: last },
        ),
      );
    }, timeoutMs);
  });
  const aborted = new Promise<never>((_, reject) => {
    signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  try {
    await Promise.race([redis.ping(), timeout, aborted]);
  } catch (err) {
    if (err instanceof FleetRedisError || signal?.aborted) throw err;
    throw new FleetRedisError(
      `Redis at ${redactUrl(url)} refused the connection (${(err as Error).message}); check the password or ACL user in the URL`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}
