import type { Redis } from "ioredis";
import { FleetNameTakenError } from "./errors.js";
import { keys } from "./keys.js";
import { parseWorkerRecord, type WorkerRecord } from "./schema.js";

/** What an operator asked of a worker with `strata fleet pause|resume|drain`. */
export type AdminState = "active" | "paused" | "draining";
/** How a worker shows in `strata fleet ls`: its admin state, or gone when its heartbeat stopped. */
export type WorkerState = AdminState | "gone" | "invalid";

/**
 * Sets the alive key when it is free or already ours; returns 0 when another instance holds it.
 * One script, so two processes starting under one name cannot both think they hold it.
 */
const HOLD_NAME = `
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * Registers a worker under its name, taking the name over from a previous instance (a restart
 * after a crash need not wait for the old heartbeat to lapse: OCluster #119). Replaces its
 * layer inventory with `layers`.
 */
export async function registerWorker(
  redis: Redis,
  record: Omit<WorkerRecord, "jobs" | "bases" | "ignored"> & { jobs: string[]; bases: unknown[] },
  layers: readonly string[],
  ttlMs: number,
): Promise<void> {
  const m = redis
    .multi()
    .set(keys.alive(record.name), record.instance, "PX", ttlMs)
    .hset(keys.worker(record.name), serialise(record))
    .sadd(keys.workers, record.name)
    .setnx(keys.admin(record.name), "active");
  await m.exec();
  await replaceLayers(redis, record.name, layers);
}

/** A heartbeat: refreshes the alive key and the published fields. Throws when the name was taken. */
export async function heartbeat(
  redis: Redis,
  name: string,
  instance: string,
  fields: Partial<Omit<WorkerRecord, "jobs" | "bases" | "ignored">> & {
    jobs?: string[];
    bases?: unknown[];
  },
  ttlMs: number,
): Promise<AdminState> {
  const held = await redis.eval(HOLD_NAME, 1, keys.alive(name), instance, String(ttlMs));
  if (held !== 1) throw new FleetNameTakenError(name);
  // SADD again each time: after a Redis restart (no persistence) the worker reappears at once.
  const [, , admin] = await Promise.all([
    redis.hset(keys.worker(name), serialise(fields)),
    redis.sadd(keys.workers, name),
    redis.get(keys.admin(name)),
  ]);
  return admin === "paused" || admin === "draining" ? admin : "active";
}

/** Replaces the worker's layer set in one step (a prune elsewhere removes layers too). */
export async function replaceLayers(
  redis: Redis,
  name: string,
  layers: readonly string[],
): Promise<void> {
  const tmp = `${keys.layers(name)}:new`;
  const m = redis.multi().del(tmp);
  for (let i = 0; i < layers.length; i += 1000) m.sadd(tmp, ...layers.slice(i, i + 1000));
  if (layers.length > 0) m.rename(tmp, keys.layers(name));
  else m.del(keys.layers(name));
  await m.exec();
}

export async function addLayers(
  redis: Redis,
  name: string,
  layers: readonly string[],
): Promise<void> {
  if (layers.length > 0) await redis.sadd(keys.layers(name), ...layers);
}

/** Removes a worker's alive key if this instance holds it (a clean exit shows as gone at once). */
export async function releaseName(redis: Redis, name: string, instance: string): Promise<void> {
  await redis.eval(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1",
    1,
    keys.alive(name),
    instance,
  );
}

/** A worker as `strata fleet ls` and routing see it. */
export interface WorkerView {
  readonly name: string;
  readonly state: WorkerState;
  /** Undefined when the record is malformed (state "invalid"). */
  readonly record: WorkerRecord | undefined;
  /** Why the record is invalid, or what of a valid one was ignored. */
  readonly problem?: string;
}

/** Every registered worker, validated; a malformed record shows as "invalid", never throws. */
export async function listWorkers(redis: Redis): Promise<WorkerView[]> {
  const names = (await redis.smembers(keys.workers)).sort();
  const views: WorkerView[] = [];
  for (const name of names) {
    const [hash, alive, admin] = await Promise.all([
      redis.hgetall(keys.worker(name)),
      redis.exists(keys.alive(name)),
      redis.get(keys.admin(name)),
    ]);
    let record: WorkerRecord;
    try {
      record = parseWorkerRecord(hash);
    } catch (err) {
      views.push({ name, state: "invalid", record: undefined, problem: (err as Error).message });
      continue;
    }
    const state: WorkerState =
      alive === 0 ? "gone" : admin === "paused" || admin === "draining" ? admin : "active";
    const problem = record.ignored?.join("; ");
    views.push({ name, state, record, ...(problem === undefined ? {} : { problem }) });
  }
  return views;
}

function serialise(fields: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = typeof v === "string" ? v : typeof v === "number" ? String(v) : JSON.stringify(v);
  }
  return out;
}
