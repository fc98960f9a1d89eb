/** Redis key and BullMQ queue names of a fleet; one place, so every process agrees. */

/** BullMQ's key prefix for the fleet's queues. */
export const QUEUE_PREFIX = "strata";
/** Prefix of strata's own keys (inventory, events, contexts), apart from BullMQ's. */
const KEY_PREFIX = "strata:fleet";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Pool and worker names: letters, digits, `.`, `_`, `-`; they become parts of Redis keys. */
export function isFleetName(name: string): boolean {
  return NAME.test(name);
}

export const poolQueueName = (pool: string) => `pool-${pool}`;
export const workerQueueName = (worker: string) => `worker-${worker}`;

export const keys = {
  /** Set of every registered worker's name. */
  workers: `${KEY_PREFIX}:workers`,
  /** Hash: the worker's published record (see WorkerRecord). */
  worker: (name: string) => `${KEY_PREFIX}:worker:${name}`,
  /** Set: layer IDs the worker's store holds. */
  layers: (name: string) => `${KEY_PREFIX}:worker:${name}:layers`,
  /** String with a TTL: the instance that holds the name; gone = the worker is gone. */
  alive: (name: string) => `${KEY_PREFIX}:alive:${name}`,
  /** String: what an operator asked of the worker (active, paused, draining). */
  admin: (name: string) => `${KEY_PREFIX}:worker:${name}:admin`,
  /** Stream: a job's events, in order, across attempts and queues. */
  events: (jobId: string) => `${KEY_PREFIX}:events:${jobId}`,
  /** Hash: where a job is and how it went (queue, state, worker, times). */
  job: (jobId: string) => `${KEY_PREFIX}:job:${jobId}`,
  /** Sorted set of job IDs by submission time, for `strata fleet jobs`. */
  jobs: `${KEY_PREFIX}:jobs`,
  /** String with a TTL: a cancel request for a job. */
  cancel: (jobId: string) => `${KEY_PREFIX}:cancel:${jobId}`,
  /** Pub/sub channel that wakes workers on a cancel request. */
  cancelChannel: `${KEY_PREFIX}:cancel`,
  /** String with a TTL: how many ms building the layer's step took, as the worker that built it measured. */
  stepMs: (layerId: string) => `${KEY_PREFIX}:step-ms:${layerId}`,
  /** Binary string with a TTL: a build context packed as tar.gz, by its SHA-256. */
  context: (sha256: string) => `${KEY_PREFIX}:context:${sha256}`,
};
