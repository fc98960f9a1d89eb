import type { BuildEvent } from "@strata/builder";
import { Job } from "bullmq";
import type { Redis } from "ioredis";
import { FleetJobAbortedError, RemoteBuildError } from "./errors.js";
import { appendEvent, readEvents, toBuildEvent } from "./event-stream.js";
import { readJobRecord, writeJobRecord } from "./job-record.js";
import { keys, poolQueueName } from "./keys.js";
import type { QueueSet } from "./queues.js";
import { DEFAULT_SPILL_AFTER_MS, shouldSpill } from "./routing.js";
import { parseJobData } from "./schema.js";

/** What following a job reports besides its build events. */
export type FollowEvent =
  | { type: "attempt"; worker: string; attempt: number }
  | { type: "spilled"; from: string; to: string; reason: "waited" | "worker-gone" };

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

/**
 * Streams a job's events until it ends: resolves with its final layer, or throws the remote
 * error (RemoteBuildError with the worker's code). While it waits it moves the job to the
 * pool when it sat in a worker's queue too long or that worker is gone, and notices a job
 * BullMQ gave up on (stalled too often). Reads resume where they were after a reconnect.
 */
export async function followJob(o: FollowJobOptions): Promise<JobOutcome> {
  let last = o.from ?? "0";
  let nextCheck = 0;
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
      lost = await checkJob(o);
    }
  }
}

/** Moves a job that waits too long or whose worker is gone; returns why, when it was lost. */
async function checkJob(o: FollowJobOptions): Promise<string | undefined> {
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
  if (!spill) return;
  const job = await Job.fromId(queue, o.jobId);
  if (!job) return;
  // remove() refuses a job whose lock is held: a running job stays with its live worker.
  if ((await queue.remove(o.jobId)) !== 1) return;
  const data = parseJobData(job.data);
  const to = poolQueueName(data.pool);
  await o.queues.add(to, data);
  await writeJobRecord(o.redis, o.jobId, { queue: to, state: "queued", enqueuedAt: Date.now() });
  o.onFollowEvent?.({
    type: "spilled",
    from: rec.queue,
    to,
    reason: view === undefined ? "worker-gone" : "waited",
  });
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
