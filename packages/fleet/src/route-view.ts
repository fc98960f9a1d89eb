import type { Redis } from "ioredis";
import { listWorkers } from "./inventory.js";
import { keys, workerQueueName } from "./keys.js";
import type { QueueSet } from "./queues.js";
import type { RouteCandidate, RouteOptions } from "./routing.js";
import { type BaseInfo, MAX_ESTIMATE_MS, parseJobData, parseStepMs } from "./schema.js";

/** How long a worker's measurement of a step is kept for routing. */
const STEP_MS_TTL_S = 30 * 24 * 3600;
/** Waiting jobs of a worker's queue read for its backlog; past these the load bound rules anyway. */
const MAX_WAITING_READ = 200;

interface ReadRouteCandidatesOptions {
  readonly redis: Redis;
  readonly queues: QueueSet;
  readonly pool: string;
  /** The job's chain on a worker with these base images. */
  readonly chainFor: (bases: readonly BaseInfo[]) => Promise<string[]>;
  /** A job waiting in a queue: only the jobs ahead of it count, and not itself. @default none */
  readonly jobId?: string;
  /** @default Date.now() */
  readonly now?: number;
}

/**
 * The pool's live workers as routing sees them, read from Redis: the record (running,
 * capacity, when running jobs are estimated to end, the layers they build), the own queue
 * (length, and the chains and estimates of its waiting jobs: the backlog and the layers they
 * will build), the inventory.
 */
export async function readRouteCandidates(
  o: ReadRouteCandidatesOptions,
): Promise<RouteCandidate[]> {
  const now = o.now ?? Date.now();
  const chains = new Map<string, Promise<string[]>>();
  const out: RouteCandidate[] = [];
  for (const view of await listWorkers(o.redis)) {
    const rec = view.record;
    if (!rec || rec.pool !== o.pool || view.state === "gone" || view.state === "invalid") continue;
    const basesKey = JSON.stringify(rec.bases);
    let chain = chains.get(basesKey);
    if (!chain) {
      chain = o.chainFor(rec.bases);
      chains.set(basesKey, chain);
    }
    const ids = await chain;
    const queue = o.queues.get(workerQueueName(rec.name));
    const [held, count, waiting] = await Promise.all([
      ids.length > 0 ? o.redis.smismember(keys.layers(rec.name), ...ids) : [],
      queue.getWaitingCount(),
      queue.getWaiting(0, MAX_WAITING_READ - 1),
    ]);
    const set = new Set(ids.filter((_, i) => held[i] === 1));
    // Oldest first: a job's predecessors are the ones added before it.
    const jobs = waiting.filter((j) => j !== undefined).sort((a, b) => a.timestamp - b.timestamp);
    const mine = o.jobId === undefined ? -1 : jobs.findIndex((j) => j.id === o.jobId);
    const ahead = mine === -1 ? jobs : jobs.slice(0, mine);
    // Layers a running job builds count as coming: the inventory gets them only once built.
    const pending = new Set<string>(rec.building);
    // A running job counts for at most the longest estimate believed, however far its end.
    let backlogMs = rec.runningEnds.reduce(
      (sum, end) => sum + Math.min(MAX_ESTIMATE_MS, Math.max(0, end - now)),
      0,
    );
    for (const job of ahead) {
      try {
        const data = parseJobData(job.data);
        for (const id of data.chain) pending.add(id);
        backlogMs += data.estimateMs ?? 0;
      } catch {
        // Ignored: a job whose data is malformed (an estimate out of range too) adds nothing
        // to the backlog, because its worker fails it at once without running it.
      }
    }
    out.push({
      worker: {
        name: rec.name,
        running: rec.running,
        queued: mine === -1 ? count : mine,
        capacity: rec.capacity,
        accepting: view.state === "active",
        backlogMs,
        ...(rec.recentLoad === undefined ? {} : { recentLoad: rec.recentLoad }),
        has: (id) => set.has(id),
        pending: (id) => pending.has(id),
      },
      chain: ids,
    });
  }
  return out;
}

/** Routing options from what workers published: the measured durations of the job's steps. */
export async function readRouteOptions(
  redis: Redis,
  candidates: readonly RouteCandidate[],
): Promise<Pick<RouteOptions, "stepMs">> {
  const known = await readStepMs(redis, [...new Set(candidates.flatMap((c) => c.chain))]);
  return { stepMs: (id) => known.get(id) };
}

/** The measured durations of steps by layer ID, as workers published them. */
async function readStepMs(redis: Redis, ids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const values = await redis.mget(...ids.map((id) => keys.stepMs(id)));
  for (const [i, v] of values.entries()) {
    const ms = parseStepMs(v);
    if (ms !== undefined) out.set(ids[i]!, ms);
  }
  return out;
}

/** Publishes how long a step took to build (the worker that built it calls this). */
export async function publishStepMs(redis: Redis, layerId: string, ms: number): Promise<void> {
  await redis.set(keys.stepMs(layerId), String(Math.round(ms)), "EX", STEP_MS_TTL_S);
}
