import type { Redis } from "ioredis";
import { FleetError, FleetWorkerUnknownError } from "./errors.js";
import { type AdminState, listWorkers } from "./inventory.js";
import { readJobRecord, writeJobRecord } from "./job-record.js";
import { keys, poolQueueName, workerQueueName } from "./keys.js";
import type { QueueSet } from "./queues.js";
import { parseJobData } from "./schema.js";

async function requireWorker(redis: Redis, name: string): Promise<void> {
  if ((await redis.sismember(keys.workers, name)) !== 1) throw new FleetWorkerUnknownError(name);
}

/** `strata fleet pause|resume|drain`: the worker picks it up at its next heartbeat. */
export async function setWorkerState(redis: Redis, name: string, state: AdminState): Promise<void> {
  await requireWorker(redis, name);
  await redis.set(keys.admin(name), state);
}

/**
 * `strata fleet forget`: removes a gone worker's record and inventory; jobs still waiting in its
 * queue move to its pool's queue first. A live worker is refused: drain it first.
 */
export async function forgetWorker(redis: Redis, queues: QueueSet, name: string): Promise<number> {
  await requireWorker(redis, name);
  if ((await redis.exists(keys.alive(name))) === 1)
    throw new FleetError(
      "FLEET_WORKER_ALIVE",
      `worker "${name}" is alive; stop it first ("strata fleet drain ${name}"), then forget it`,
    );
  const queue = queues.get(workerQueueName(name));
  let moved = 0;
  for (const job of await queue.getJobs(["waiting", "active", "delayed", "prioritized"])) {
    if (!job?.id) continue;
    const data = parseJobData(job.data);
    if ((await queue.remove(job.id)) !== 1) continue;
    const to = poolQueueName(data.pool);
    await queues.add(to, data);
    if (await readJobRecord(redis, job.id))
      await writeJobRecord(redis, job.id, { queue: to, state: "queued", enqueuedAt: Date.now() });
    moved++;
  }
  await queue.obliterate({ force: true });
  await redis
    .multi()
    .del(keys.worker(name), keys.layers(name), keys.admin(name), keys.alive(name))
    .srem(keys.workers, name)
    .exec();
  return moved;
}

export { listWorkers };
