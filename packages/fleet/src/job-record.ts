import type { Redis } from "ioredis";
import { z } from "zod";
import { FleetMessageInvalidError } from "./errors.js";
import { keys } from "./keys.js";

/** How long `strata fleet jobs` remembers a job. */
const JOB_RECORD_TTL_S = 7 * 24 * 3600;

const jobRecordSchema = z.object({
  id: z.string(),
  /** BullMQ queue it is in now: the pool's, or a worker's. */
  queue: z.string(),
  state: z.enum(["queued", "running", "done", "failed", "cancelled"]),
  spec: z.string(),
  submittedAt: z.coerce.number(),
  /** When it entered its current queue (a spill-over resets it). */
  enqueuedAt: z.coerce.number(),
  worker: z.string().optional(),
  startedAt: z.coerce.number().optional(),
  finishedAt: z.coerce.number().optional(),
  layer: z.string().optional(),
  code: z.string().optional(),
});
/** Where a job is and how it went, across queues and attempts (a Redis hash). */
export type JobRecord = z.infer<typeof jobRecordSchema>;

export async function writeJobRecord(
  redis: Redis,
  id: string,
  fields: Partial<JobRecord>,
  isNew = false,
): Promise<void> {
  const hash: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) hash[k] = String(v);
  const m = redis.multi().hset(keys.job(id), hash).expire(keys.job(id), JOB_RECORD_TTL_S);
  if (isNew) {
    m.zadd(keys.jobs, Date.now(), id);
    m.zremrangebyscore(keys.jobs, 0, Date.now() - JOB_RECORD_TTL_S * 1000);
  }
  await m.exec();
}

/** The job's record, validated; undefined when there is none. */
export async function readJobRecord(redis: Redis, id: string): Promise<JobRecord | undefined> {
  const hash = await redis.hgetall(keys.job(id));
  if (Object.keys(hash).length === 0) return undefined;
  const r = jobRecordSchema.safeParse(hash);
  if (!r.success)
    throw new FleetMessageInvalidError(
      "job",
      r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
    );
  return r.data;
}

/** The newest jobs first; records that fail validation are left out. */
export async function listJobRecords(redis: Redis, limit = 50): Promise<JobRecord[]> {
  const ids = await redis.zrevrange(keys.jobs, 0, limit - 1);
  const out: JobRecord[] = [];
  for (const id of ids) {
    const r = await readJobRecord(redis, id).catch(() => undefined);
    if (r) out.push(r);
  }
  return out;
}
