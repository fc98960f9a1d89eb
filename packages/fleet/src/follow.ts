import type { BuildEvent } from "@strata/builder";
import { Job } from "bullmq";
import type { Redis } from "ioredis";
import { FleetJobAbortedError, RemoteBuildError } from "./errors.js";
import { appendEvent, readEvents, toBuildEvent } from "./event-stream.js";
import { readJobRecord, writeJobRecord } from "./job-record.js";
import { keys, poolQueueName, workerQueueName } from "./keys.js";
import type { QueueSet } from "./queues.js";
import { readRouteCandidates, readRouteOptions } from "./route-view.js";
import { chooseMove, DEFAULT_SPILL_AFTER_MS, estimateJobMs, shouldSpill } from "./routing.js";
import { type JobData, parseJobData } from "./schema.js";

/** What following a job reports besides its build events. */
export type FollowEvent =
  | { type: "attempt"; worker: string; attempt: number }
  | {
      type: "spilled";
      from: string;
      to: string;
      /** waited: past spillAfterMs; worker-gone: gone, paused or draining; sooner: a free worker finishes it sooner. */
      reason: "waited" | "worker-gone" | "sooner";
    };

export interface FollowJobOptions {
  readonly redis: Redis;
  /** A connection for the blocking reads alone. */
  readonly reader: Redis;
  readonly queues: QueueSet;
  readonly jobId: string;
  /** Stream ID to read after: "0" replays from the start. @default "0" */
  readonly from?: string;
  /** @default DEFAULT_SPILL_AFTER_MS */
  readonly spillAfterMs?: number;
  /** Time between two looks for a free worker that finishes the waiting job sooner. @default MOVE_CHECK_MS */
  readonly moveCheckMs?: number;
  readonly signal?: AbortSignal;
  readonly onEvent: (e: BuildEvent) => void;
  readonly onFollowEvent?: (e: FollowEvent) => void;
}

export interface JobOutcome {
  readonly layer: string;
  readonly worker: string;
}

/** Time between two looks at where the job is (spill-over, lost jobs). */
const CHECK_EVERY_MS = 2000;
/** Time between two looks for a free worker that would finish a waiting job sooner (bench/fleet-sim.mjs: MOVE_CHECK_S). */
export const MOVE_CHECK_MS = 30_000;

/**
 * Streams a job's events until it ends: resolves with its final layer, or throws the remote
 * error (RemoteBuildError with the worker's code). While it waits it moves the job to the
 * pool when it sat in a worker's queue too long or that worker is gone, and notices a job
 * BullMQ gave up on (stalled too often). Reads resume where they were after a reconnect.
 */
export async function followJob(o: FollowJobOptions): Promise<JobOutcome> {
  let last = o.from ?? "0";
  let nextCheck = 0;
  const move = { every: o.moveCheckMs ?? MOVE_CHECK_MS, next: 0 };
  move.next = Date.now() + move.every;
  let lost: string | undefined;
  for (;;) {
    o.signal?.throwIfAborted();
    // After BullMQ failed the job, one more short read: a worker that failed it itself
    // appended its "end" event before, and that event, not "lost", is the outcome.
    const batch = await readEvents(o.reader, o.jobId, last, lost === undefined ? 1000 : 1);
    last = batch.last;
    for (const e of batch.events) {
      if (e.type === "end") {
        if (e.ok) return { layer: e.id, worker: e.worker };
        if (e.code === "FLEET_WATCHDOG" || e.code === "FLEET_DEADLINE")
          throw new FleetJobAbortedError(e.code, e.message);
        throw new RemoteBuildError(e.code, e.message, e.worker);
      }
      if (e.type === "attempt") o.onFollowEvent?.(e);
      else {
        const b = toBuildEvent(e);
        if (b) o.onEvent(b);
      }
    }
    if (batch.invalid) throw batch.invalid;
    if (lost !== undefined) {
      await writeJobRecord(o.redis, o.jobId, { state: "failed", code: "FLEET_JOB_LOST" });
      throw new FleetJobAbortedError("FLEET_JOB_LOST", lost);
    }
    if (Date.now() >= nextCheck) {
      nextCheck = Date.now() + CHECK_EVERY_MS;
      lost = await checkJob(o, move);
    }
  }
}

/**
 * Moves a job that waits too long or whose worker is gone (to the pool), or that a free worker
 * would finish sooner (to that worker, every `moveCheckMs`); returns why, when it was lost.
 */
async function checkJob(
  o: FollowJobOptions,
  move: { readonly every: number; next: number },
): Promise<string | undefined> {
  const rec = await readJobRecord(o.redis, o.jobId);
  if (!rec || (rec.state !== "queued" && rec.state !== "running")) return;
  const queue = o.queues.get(rec.queue);
  const state = await queue.getJobState(o.jobId);
  if (state === "failed") {
    // Failed by its worker (its "end" event is in the stream) or by BullMQ itself (a worker
    // died with it more often than maxStalledCount).
    const job = await Job.fromId(queue, o.jobId);
    return `the job was lost: ${job?.failedReason ?? "its workers stopped"}; submit it again`;
  }
  if (!rec.queue.startsWith("worker-")) return;
  const worker = rec.queue.slice("worker-".length);
  const [alive, admin] = await Promise.all([
    o.redis.exists(keys.alive(worker)),
    o.redis.get(keys.admin(worker)),
  ]);
  const view = alive === 1 ? { accepting: admin !== "paused" && admin !== "draining" } : undefined;
  const waiting = state === "waiting" || state === "prioritized" || state === "delayed";
  const spill = waiting
    ? shouldSpill(Date.now() - rec.enqueuedAt, view, o.spillAfterMs ?? DEFAULT_SPILL_AFTER_MS)
    : state === "active" && view === undefined;
  const lookForMove = !spill && waiting && Date.now() >= move.next;
  if (!spill && !lookForMove) return;
  const job = await Job.fromId(queue, o.jobId);
  if (!job) return;
  const data = parseJobData(job.data);
  let to = poolQueueName(data.pool);
  if (lookForMove) {
    move.next = Date.now() + move.every;
    const better = await findSoonerWorker(o, worker, data);
    if (!better) return;
    to = workerQueueName(better.worker);
    data.estimateMs = better.estimateMs;
  }
  // remove() refuses a job whose lock is held: a running job stays with its live worker.
  if ((await queue.remove(o.jobId)) !== 1) return;
  await o.queues.add(to, data);
  await writeJobRecord(o.redis, o.jobId, { queue: to, state: "queued", enqueuedAt: Date.now() });
  o.onFollowEvent?.({
    type: "spilled",
    from: rec.queue,
    to,
    reason: lookForMove ? "sooner" : view === undefined ? "worker-gone" : "waited",
  });
}

/**
 * A free worker of the pool that, by routing's own score, finishes the job sooner than the
 * worker it waits for. Workers are seen with the job's chain as it was routed (a worker with
 * other base images then looks like one without the layers: it is never preferred wrongly).
 */
async function findSoonerWorker(
  o: FollowJobOptions,
  current: string,
  data: JobData,
): Promise<{ worker: string; estimateMs: number } | undefined> {
  const candidates = await readRouteCandidates({
    redis: o.redis,
    queues: o.queues,
    pool: data.pool,
    chainFor: async () => data.chain,
    jobId: o.jobId,
  });
  const here = candidates.find((c) => c.worker.name === current);
  if (!here) return;
  const options = await readRouteOptions(o.redis, candidates);
  const startsInMs = here.worker.backlogMs / Math.max(1, here.worker.capacity);
  const to = chooseMove({ current: here, startsInMs }, candidates, options);
  const target = candidates.find((c) => c.worker.name === to);
  if (!target) return;
  return {
    worker: target.worker.name,
    estimateMs: Math.round(estimateJobMs(target.worker, target.chain, options)),
  };
}

/**
 * Asks for a job to stop: a waiting job leaves its queue at once; a running one is stopped by
 * its worker (VM stopped), which then ends the job's event stream with FLEET_CANCELLED.
 * Returns whether the job was still waiting (nothing ran).
 */
export async function cancelJob(redis: Redis, queues: QueueSet, jobId: string): Promise<boolean> {
  await redis.set(keys.cancel(jobId), "1", "EX", 24 * 3600);
  await redis.publish(keys.cancelChannel, jobId);
  const rec = await readJobRecord(redis, jobId);
  if (rec?.state !== "queued") return false;
  if ((await queues.get(rec.queue).remove(jobId)) !== 1) return false;
  await writeJobRecord(redis, jobId, {
    state: "cancelled",
    finishedAt: Date.now(),
    code: "FLEET_CANCELLED",
  });
  await appendEvent(redis, jobId, {
    type: "end",
    ok: false,
    code: "FLEET_CANCELLED",
    message: "the job was cancelled before it ran",
  });
  return true;
}
