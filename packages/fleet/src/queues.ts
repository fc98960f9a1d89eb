import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QUEUE_PREFIX } from "./keys.js";
import type { JobData } from "./schema.js";

/**
 * BullMQ options of every build job: two attempts (the watchdog or the deadline may stop the
 * first; a failed build step is final), finished jobs kept for a while for `strata fleet jobs`.
 */
export const JOB_OPTIONS: JobsOptions = {
  attempts: 2,
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

/** BullMQ queues by name on one shared connection, opened on first use. */
export class QueueSet implements AsyncDisposable {
  readonly #redis: Redis;
  readonly #queues = new Map<string, Queue>();

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  get(name: string): Queue {
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.#redis, prefix: QUEUE_PREFIX });
      this.#queues.set(name, q);
    }
    return q;
  }

  /** Adds a build job (idempotent: BullMQ ignores a job ID the queue already holds). */
  async add(name: string, data: JobData): Promise<void> {
    await this.get(name).add("build", data, { ...JOB_OPTIONS, jobId: data.id });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close().catch(() => {})));
  }
}
