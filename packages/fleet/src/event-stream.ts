import type { BuildEvent } from "@strata/builder";
import type { Redis } from "ioredis";
import { keys } from "./keys.js";
import { type FleetEvent, parseFleetEvent } from "./schema.js";

/**
 * A job's events live in a Redis stream of their own, not in BullMQ's job logs: a stream can be
 * read with a blocking XREAD from any entry on (a submitter that lost its connection resumes
 * where it was; `strata fleet logs` replays from the start), and it stays one stream when the
 * job moves from a worker's queue to the pool or to another worker after a crash.
 */
const EVENTS_TTL_S = 2 * 24 * 3600;
/** Entries kept per job (approximate trim): enough for a long build's output. */
const EVENTS_MAX_LEN = 500_000;

/** A build event in its wire form (output bytes as base64, no undefined). */
export function toFleetEvent(e: BuildEvent): FleetEvent {
  switch (e.type) {
    case "output":
      return { type: "output", data: e.chunk.toString("base64") };
    case "step":
      return { type: "step", index: e.index, stage: e.stage ?? null, workdir: e.workdir, op: e.op };
    default:
      return e;
  }
}

/** The build event a wire event renders as, or undefined for the fleet's own events. */
export function toBuildEvent(e: FleetEvent): BuildEvent | undefined {
  switch (e.type) {
    case "output":
      return { type: "output", chunk: Buffer.from(e.data, "base64") };
    case "step":
      return {
        type: "step",
        index: e.index ?? 0,
        stage: e.stage ?? undefined,
        workdir: e.workdir,
        op: e.op,
      };
    case "attempt":
    case "end":
      return undefined;
    default:
      return e;
  }
}

export async function appendEvent(redis: Redis, jobId: string, event: FleetEvent): Promise<void> {
  const key = keys.events(jobId);
  await redis
    .multi()
    .xadd(key, "MAXLEN", "~", EVENTS_MAX_LEN, "*", "e", JSON.stringify(event))
    .expire(key, EVENTS_TTL_S)
    .exec();
}

interface EventBatch {
  /** Stream ID of the last entry read: pass it back to read on. */
  readonly last: string;
  readonly events: readonly FleetEvent[];
  /** The first malformed entry's problem; `events` holds the valid ones before it. */
  readonly invalid?: Error;
}

/**
 * Reads a job's events after stream ID `after` ("0" = from the start), waiting up to `blockMs`
 * for new ones. Every entry is validated: reading stops at a malformed one (see `invalid`).
 * Use a connection of its own: a blocking read holds it.
 */
export async function readEvents(
  redis: Redis,
  jobId: string,
  after: string,
  blockMs: number,
): Promise<EventBatch> {
  const reply = (await redis.xread(
    "COUNT",
    1000,
    "BLOCK",
    blockMs,
    "STREAMS",
    keys.events(jobId),
    after,
  )) as [string, [string, string[]][]][] | null;
  const entries = reply?.[0]?.[1] ?? [];
  const events: FleetEvent[] = [];
  let last = after;
  for (const [id, fields] of entries) {
    const i = fields.indexOf("e");
    try {
      events.push(parseFleetEvent(i >= 0 && i % 2 === 0 ? (fields[i + 1] ?? "") : ""));
    } catch (err) {
      return { last, events, invalid: err as Error };
    }
    last = id;
  }
  return { last, events };
}
