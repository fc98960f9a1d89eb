import { STEP_PHASES } from "@strata/builder";
import { z } from "zod";
import { FleetMessageInvalidError } from "./errors.js";

/** Version of the job and event formats; a worker refuses jobs of another version. */
export const FLEET_PROTOCOL = 1;

const layerId = z.string().regex(/^[0-9a-f]{64}$/);
/** Largest step or job estimate believed: a week (beyond it a figure is an error, not a build). */
export const MAX_ESTIMATE_MS = 7 * 24 * 3600_000;
/** Largest epoch-ms time believed (year 2286): beyond it a figure is an error. */
const MAX_EPOCH_MS = 9_999_999_999_999;
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** Where a job's build context is: a tar.gz in Redis, or a blob in the registry. */
export const contextRefSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("redis"), sha256, bytes: z.number().int().nonnegative() }),
  z.object({
    kind: z.literal("registry"),
    ref: z.string().min(1).max(1000),
    digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
  }),
]);
export type ContextRef = z.infer<typeof contextRefSchema>;

/** Machine options a submitter may set, as `strata build` takes them. */
export const machineOptionsSchema = z
  .object({
    memoryMiB: z.number().int().positive().optional(),
    cpus: z.number().int().positive().optional(),
    accel: z.enum(["auto", "kvm", "tcg"]).optional(),
    bootTimeoutMs: z.number().positive().optional(),
    guestOs: z.enum(["linux", "windows", "openbsd", "freebsd"]).optional(),
    cacheStrategy: z.enum(["auto", "copy", "disk"]).optional(),
    stepTimeoutMs: z.number().positive().optional(),
    warm: z.enum(["auto", "off"]).optional(),
  })
  .strict();
export type MachineJobOptions = z.infer<typeof machineOptionsSchema>;

/** What a submitter puts in a BullMQ job. Secrets travel as IDs only: workers hold the values. */
export const jobDataSchema = z
  .object({
    v: z.literal(FLEET_PROTOCOL),
    id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
    /** The pool whose queue takes the job when it leaves a worker's queue. */
    pool: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
    spec: z.object({ file: z.string().max(4096), text: z.string().max(1_000_000) }),
    context: contextRefSchema,
    secrets: z.array(z.string().min(1).max(200)).max(100),
    options: machineOptionsSchema,
    /** Wall-clock limit of one attempt. */
    deadlineMs: z.number().int().positive(),
    /** No output and no progress for this long: the VM is stopped and the attempt fails. */
    watchdogMs: z.number().int().positive(),
    submittedAt: z.number().int().nonnegative(),
    submitter: z.string().max(200),
    /** The layer chain the submitter routed by, for `strata fleet jobs` and routing. */
    chain: z.array(layerId).max(10_000),
    /**
     * The submitter's estimate of the job's cost on the worker it was routed to: the backlog
     * later jobs are routed by. Absent from submitters older than estimates.
     */
    estimateMs: z.number().int().nonnegative().max(MAX_ESTIMATE_MS).optional(),
  })
  .strict();
export type JobData = z.infer<typeof jobDataSchema>;

/** A duration in ms as a worker reports it: an integer, at most 2^40 (35 years). */
const ms = z
  .number()
  .int()
  .min(0)
  .max(2 ** 40);
const shortText = z.string().max(4096);
const machineValue = z.union([z.string().max(4096), z.number()]);

/** Why a VM booted cold (`ColdBootReason`). */
const coldBootReasonSchema = z.discriminatedUnion("code", [
  z.object({ code: z.enum(["no-state", "state-meta-invalid", "state-missing", "no-cache"]) }),
  z.object({
    code: z.literal("other-machine"),
    differs: z
      .array(z.object({ key: shortText, saved: machineValue.nullable(), now: machineValue }))
      .max(64),
  }),
]);

/** What happened to a step's VM (`VmEvent`): how it started and what it cost, or a power-off. */
const vmEventSchema = z.discriminatedUnion("how", [
  z.object({
    type: z.literal("vm"),
    how: z.literal("booted"),
    ms,
    reason: coldBootReasonSchema.optional(),
  }),
  z.object({ type: z.literal("vm"), how: z.literal("resumed"), ms }),
  z.object({
    type: z.literal("vm"),
    how: z.literal("continued"),
    ms,
    parkMs: ms.optional(),
    snapshotMs: ms.optional(),
    stateMs: ms.optional(),
  }),
  z.object({
    type: z.literal("vm"),
    how: z.literal("powered-off"),
    ms,
    reason: z.literal("secrets"),
  }),
]);

/** A step's mutable cache (`CacheProgressEvent`). */
const cacheEventSchema = z.discriminatedUnion("action", [
  z.object({
    type: z.literal("cache"),
    action: z.literal("checkout"),
    cache: shortText,
    strategy: z.enum(["copy", "disk"]),
    generation: z.number().int().min(0),
  }),
  z.object({
    type: z.literal("cache"),
    action: z.literal("transfer"),
    cache: shortText,
    direction: z.enum(["in", "out"]),
    bytes: z.number().int().min(0),
    done: z.boolean(),
  }),
  z.object({
    type: z.literal("cache"),
    action: z.enum(["mounted", "unmounted"]),
    cache: shortText,
    target: shortText,
  }),
  z.object({
    type: z.literal("cache"),
    action: z.literal("commit"),
    cache: shortText,
    outcome: z.enum(["committed", "stale", "incomplete"]),
    generation: z.number().int().min(0),
  }),
]);

const buildEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("step"),
    /** Absent from workers older than step indexes. */
    index: z.number().int().min(0).optional(),
    stage: z.string().nullable(),
    workdir: z.string(),
    op: z.string(),
  }),
  /** Output bytes, base64: a step may print anything, not only UTF-8. */
  z.object({ type: z.literal("output"), data: z.base64() }),
  z.object({ type: z.literal("saved"), id: layerId }),
  z.object({ type: z.literal("cached"), id: layerId, pulled: z.boolean().optional() }),
  z.object({
    type: z.literal("phase"),
    phase: z.enum(STEP_PHASES),
  }),
  z.object({ type: z.literal("warning"), message: z.string() }),
  z.object({ type: z.literal("done"), id: layerId }),
  vmEventSchema,
  cacheEventSchema,
  /** Layers moved to or from the registry. */
  z.object({
    type: z.literal("transfer"),
    direction: z.enum(["pull", "push"]),
    layers: z.number().int().min(1),
    id: layerId,
  }),
  /** A `(comment ...)` of the spec. */
  z.object({ type: z.literal("comment"), text: z.string() }),
  /** A worker took the job (again, after another one died or was stopped). */
  z.object({ type: z.literal("attempt"), worker: z.string(), attempt: z.number().int().min(1) }),
]);

/** One entry of a job's event stream, as workers write it and submitters read it. */
export const fleetEventSchema = z.union([
  buildEventSchema,
  /** The job is over: its final layer... */
  z.object({ type: z.literal("end"), ok: z.literal(true), id: layerId, worker: z.string() }),
  /** ...or the error the build ended with (the worker's error code). */
  z.object({
    type: z.literal("end"),
    ok: z.literal(false),
    code: z.string(),
    message: z.string(),
    worker: z.string().optional(),
  }),
]);
export type FleetEvent = z.infer<typeof fleetEventSchema>;

/** A worker's published record (a Redis hash of strings). */
export const workerRecordSchema = z.object({
  name: z.string(),
  pool: z.string(),
  instance: z.string(),
  capacity: z.coerce.number().int().positive(),
  running: z.coerce.number().int().nonnegative(),
  jobs: z.string().transform((s, ctx) => parseJsonArray(s, ctx)),
  freeDisk: z.coerce.number().nonnegative(),
  layerCount: z.coerce.number().int().nonnegative(),
  lastSeen: z.coerce.number().int().nonnegative(),
  startedAt: z.coerce.number().int().nonnegative(),
  bases: z.string().transform((s, ctx) => parseBases(s, ctx)),
});
/** A worker's record as parsed: what was published, and what was ignored in it, and why. */
export type WorkerRecord = z.infer<typeof workerRecordSchema> & {
  /**
   * When the running jobs are estimated to end (epoch ms, from their estimates): the part of
   * the backlog routing sees that is not in the worker's queue. Empty from older workers and
   * when the field is malformed (see `ignored`).
   */
  readonly runningEnds: number[];
  /**
   * The layer IDs of its running jobs' chains: layers it holds or will hold once they ran, which
   * routing counts like those of its queued jobs. Empty from older workers and when the field is
   * malformed (see `ignored`).
   */
  readonly building: string[];
  /**
   * Its load averaged over about the last hour (routing's `recentLoad`); undefined from older
   * workers and when the field is malformed (see `ignored`).
   */
  readonly recentLoad?: number;
  /** Advisory fields left out because they were malformed, each with why; absent when none. */
  readonly ignored?: readonly string[];
};

/** The published end times: epoch ms, at most one per running job (a worker runs few). */
const runningEndsSchema = z.array(z.number().int().nonnegative().max(MAX_EPOCH_MS)).max(1000);

/** What a worker says about a base image, so submitters can compute layer IDs without it. */
export const baseInfoSchema = z.object({
  name: z.string(),
  layerId,
  os: z.enum(["linux", "windows", "openbsd", "freebsd"]),
  shell: z.array(z.string()),
});
export type BaseInfo = z.infer<typeof baseInfoSchema>;

function parseJson(s: string, ctx: z.RefinementCtx): unknown {
  try {
    return JSON.parse(s);
  } catch {
    ctx.addIssue({ code: "custom", message: "not JSON" });
    return z.NEVER;
  }
}

function parseJsonArray(s: string, ctx: z.RefinementCtx): string[] {
  const r = z.array(z.string()).safeParse(parseJson(s, ctx));
  if (!r.success) ctx.addIssue({ code: "custom", message: "not a list of job IDs" });
  return r.success ? r.data : [];
}

/**
 * An advisory JSON field of a worker's record: its value, or a reason to ignore it (then
 * `fallback`). It only shapes estimates, so a malformed one costs the worker that figure, never
 * its place in routing.
 */
function parseAdvisory<T>(
  field: string,
  s: string | undefined,
  schema: z.ZodType<T[]>,
  what: string,
  fallback: string,
): { value: T[]; problem?: string } {
  if (s === undefined) return { value: [] };
  let json: unknown;
  try {
    json = JSON.parse(s);
  } catch {
    return { value: [], problem: `${field}: not JSON; taken as ${fallback}` };
  }
  const r = schema.safeParse(json);
  if (r.success) return { value: r.data };
  return { value: [], problem: `${field}: not ${what}; taken as ${fallback}` };
}

/** The running jobs' layers: a chain each, a worker runs few jobs. */
const buildingSchema = z.array(layerId).max(10_000);

/** Largest recent load believed (jobs per slot): beyond it a figure is an error. */
const MAX_RECENT_LOAD = 1_000_000;

/**
 * A worker's `recentLoad` field: a non-negative decimal, or a reason to ignore it. It only
 * breaks ties, so a malformed one costs the worker that, never its place in routing.
 */
function parseRecentLoad(s: string | undefined): { load?: number; problem?: string } {
  if (s === undefined) return {};
  const load = Number(s);
  if (/^\d{1,7}(\.\d{1,6})?$/.test(s) && load <= MAX_RECENT_LOAD) return { load };
  return { problem: "recentLoad: not a load between 0 and 1000000; taken as the load now" };
}

/**
 * A step's published duration as read from Redis: a whole number of ms up to MAX_ESTIMATE_MS;
 * anything else (missing, corrupt) is unknown, so routing assumes its default.
 */
export function parseStepMs(value: string | null): number | undefined {
  if (value === null || !/^\d{1,12}$/.test(value)) return undefined;
  const ms = Number(value);
  return ms <= MAX_ESTIMATE_MS ? ms : undefined;
}

function parseBases(s: string, ctx: z.RefinementCtx): BaseInfo[] {
  const r = z.array(baseInfoSchema).safeParse(parseJson(s, ctx));
  if (!r.success) ctx.addIssue({ code: "custom", message: "not a list of base images" });
  return r.success ? r.data : [];
}

function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
}

/** Validates a job's data; throws {@link FleetMessageInvalidError} listing every problem. */
export function parseJobData(data: unknown): JobData {
  const r = jobDataSchema.safeParse(data);
  if (!r.success) throw new FleetMessageInvalidError("job", problemsOf(r.error));
  return r.data;
}

/** Validates one stream entry's JSON text. */
export function parseFleetEvent(text: string): FleetEvent {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new FleetMessageInvalidError("event", ["not JSON"]);
  }
  const r = fleetEventSchema.safeParse(json);
  if (!r.success) throw new FleetMessageInvalidError("event", problemsOf(r.error));
  return r.data;
}

/** Validates a worker's hash as read with HGETALL. */
export function parseWorkerRecord(hash: Record<string, string>): WorkerRecord {
  const { runningEnds, building, recentLoad, ...rest } = hash;
  const r = workerRecordSchema.safeParse(rest);
  if (!r.success) throw new FleetMessageInvalidError("worker", problemsOf(r.error));
  const ends = parseAdvisory(
    "runningEnds",
    runningEnds,
    runningEndsSchema,
    "a list of end times in epoch ms",
    "no running estimate",
  );
  const built = parseAdvisory("building", building, buildingSchema, "a list of layer IDs", "none");
  const recent = parseRecentLoad(recentLoad);
  const ignored = [ends.problem, built.problem, recent.problem].filter((p) => p !== undefined);
  return {
    ...r.data,
    runningEnds: ends.value,
    building: built.value,
    ...(recent.load === undefined ? {} : { recentLoad: recent.load }),
    ...(ignored.length === 0 ? {} : { ignored }),
  };
}
