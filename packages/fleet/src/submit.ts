import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { BuildEvent } from "@strata/builder";
import type { Spec } from "@strata/spec-parser";
import type { Redis } from "ioredis";
import { openRedis, waitForRedis } from "./connection.js";
import { type ContextRegistry, packContext, putContext } from "./context.js";
import { FleetMessageInvalidError, FleetOptionsError } from "./errors.js";
import {
  cancelJob,
  type FollowEvent,
  type FollowJobOptions,
  followJob,
  type JobOutcome,
} from "./follow.js";
import { writeJobRecord } from "./job-record.js";
import { isFleetName, poolQueueName, workerQueueName } from "./keys.js";
import { computeLayerChain } from "./layer-chain.js";
import { QueueSet } from "./queues.js";
import { readRouteCandidates, readRouteOptions } from "./route-view.js";
import { chooseRoute, type Route } from "./routing.js";
import { FLEET_PROTOCOL, type JobData, type MachineJobOptions } from "./schema.js";

/** Wall-clock limit of one attempt. */
export const DEFAULT_DEADLINE_MS = 6 * 3600_000;
/** No output and no progress for this long stops the VM (then one retry). */
export const DEFAULT_WATCHDOG_MS = 15 * 60_000;
/** How long a cancelled job's worker has to confirm that its VM stopped. */
const CANCEL_CONFIRM_MS = 30_000;

export type SubmitEvent =
  | { type: "queued"; jobId: string; queue: string; route: Route }
  | FollowEvent
  | { type: "cancelling"; jobId: string };

/** Options of a submitted build; `spillAfterMs` and `onEvent` as for {@link FollowJobOptions}. */
export interface SubmitBuildOptions extends Pick<FollowJobOptions, "spillAfterMs" | "onEvent"> {
  readonly url: URL;
  readonly spec: Spec;
  readonly specText: string;
  readonly specFile: string;
  readonly contextDir: string;
  /** @default "default" */
  readonly pool?: string;
  /**
   * The fleet's registry: a context that packs to more than `contextLimitBytes` travels there
   * as a blob (workers read it from their own `--registry`). @default none (Redis only)
   */
  readonly registry?: ContextRegistry | undefined;
  /** Largest packed context kept in Redis. @default DEFAULT_CONTEXT_LIMIT_BYTES (8 MiB) */
  readonly contextLimitBytes?: number;
  readonly machine?: MachineJobOptions;
  /** @default DEFAULT_DEADLINE_MS */
  readonly deadlineMs?: number;
  /** @default DEFAULT_WATCHDOG_MS */
  readonly watchdogMs?: number;
  /** @default DEFAULT_MAX_LOAD */
  readonly maxLoad?: number;
  /** Aborting cancels the remote job (its VM is stopped). */
  readonly signal?: AbortSignal;
  readonly onSubmitEvent?: (e: SubmitEvent) => void;
}

/**
 * Submits a build to a pool and streams it as a local build would: routes it by the layer
 * inventory of the pool's workers, adds it to that worker's queue or to the pool's, then follows
 * its events to the end. Resolves with the final layer; throws the remote build's error.
 */
export async function submitBuild(o: SubmitBuildOptions): Promise<JobOutcome & { jobId: string }> {
  const pool = o.pool ?? "default";
  if (!isFleetName(pool))
    throw new FleetOptionsError(
      `option "--pool": "${pool}" may hold only letters, digits, ".", "_" and "-"`,
    );
  await using conn = await connect(o.url, o.signal);
  const { redis, reader, queues } = conn;
  const context = await putContext(redis, await packContext(o.contextDir), {
    ...(o.contextLimitBytes === undefined ? {} : { limit: o.contextLimitBytes }),
    registry: o.registry,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const candidates = await readRouteCandidates({
    redis,
    queues,
    pool,
    chainFor: (bases) =>
      computeLayerChain(o.spec, o.contextDir, (name) => bases.find((b) => b.name === name)),
  });
  const route = chooseRoute(candidates, {
    ...(await readRouteOptions(redis, candidates)),
    ...(o.maxLoad === undefined ? {} : { maxLoad: o.maxLoad }),
  });
  const queue = route.kind === "worker" ? workerQueueName(route.worker) : poolQueueName(pool);
  const jobId = randomUUID();
  const chain =
    candidates.find((c) => route.kind === "worker" && c.worker.name === route.worker)?.chain ?? [];
  const data: JobData = {
    v: FLEET_PROTOCOL,
    id: jobId,
    pool,
    spec: { file: o.specFile, text: o.specText },
    context,
    secrets: secretIds(o.spec),
    options: o.machine ?? {},
    deadlineMs: o.deadlineMs ?? DEFAULT_DEADLINE_MS,
    watchdogMs: o.watchdogMs ?? DEFAULT_WATCHDOG_MS,
    submittedAt: Date.now(),
    submitter: hostname(),
    chain: [...chain],
    ...(route.kind === "worker" ? { estimateMs: Math.round(route.estimateMs) } : {}),
  };
  const now = Date.now();
  await writeJobRecord(
    redis,
    jobId,
    { id: jobId, queue, state: "queued", spec: o.specFile, submittedAt: now, enqueuedAt: now },
    true,
  );
  await queues.add(queue, data);
  o.onSubmitEvent?.({ type: "queued", jobId, queue, route });
  try {
    const outcome = await followJob({
      redis,
      reader,
      queues,
      jobId,
      ...(o.spillAfterMs === undefined ? {} : { spillAfterMs: o.spillAfterMs }),
      ...(o.signal ? { signal: o.signal } : {}),
      onEvent: o.onEvent,
      ...(o.onSubmitEvent ? { onFollowEvent: o.onSubmitEvent } : {}),
    });
    return { ...outcome, jobId };
  } catch (err) {
    if (o.signal?.aborted) {
      o.onSubmitEvent?.({ type: "cancelling", jobId });
      await cancelAndConfirm(conn, jobId, o.onEvent);
    } else if (err instanceof FleetMessageInvalidError) {
      // A job whose events cannot be read cannot be followed: it fails, and stops.
      await cancelJob(redis, queues, jobId).catch(() => false);
    }
    throw err;
  }
}

/** Cancels the job and waits (bounded) for its worker to say the VM stopped. */
async function cancelAndConfirm(conn: Connection, jobId: string, onEvent: (e: BuildEvent) => void) {
  const waiting = await cancelJob(conn.redis, conn.queues, jobId);
  if (waiting) return;
  await followJob({
    ...conn,
    jobId,
    // Only the rest of the stream matters: its end, written once the VM is stopped.
    from: "$",
    signal: AbortSignal.timeout(CANCEL_CONFIRM_MS),
    onEvent,
  }).catch(() => {});
}

function secretIds(spec: Spec): string[] {
  const ids = new Set<string>();
  const walk = (s: Spec) => {
    for (const b of s.builds) walk(b.spec);
    for (const op of s.ops) if (op.op === "run") for (const x of op.secrets) ids.add(x.id);
  };
  walk(spec);
  return [...ids];
}

interface Connection extends AsyncDisposable {
  readonly redis: Redis;
  readonly reader: Redis;
  readonly queues: QueueSet;
}

/** Two connections (one for blocking reads) and the queues on them. */
export async function connect(url: URL, signal?: AbortSignal): Promise<Connection> {
  const redis = openRedis(url);
  const reader = openRedis(url);
  try {
    await waitForRedis(redis, url, undefined, signal);
  } catch (err) {
    redis.disconnect();
    reader.disconnect();
    throw err;
  }
  const queues = new QueueSet(redis);
  return {
    redis,
    reader,
    queues,
    async [Symbol.asyncDispose]() {
      await queues[Symbol.asyncDispose]();
      reader.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
