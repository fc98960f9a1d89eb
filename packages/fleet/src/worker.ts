import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { BuildEvent, BuildRegistryOptions, SecretValues } from "@strata/builder";
import { reapStaleVms } from "@strata/qemu-runner";
import { filesystemSpace, type Store } from "@strata/store";
import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { describeBaseImages } from "./base-info.js";
import { openRedis, waitForRedis } from "./connection.js";
import { FleetJobAbortedError, FleetNameTakenError, FleetOptionsError } from "./errors.js";
import { appendEvent, toFleetEvent } from "./event-stream.js";
import {
  type AdminState,
  addLayers,
  heartbeat,
  registerWorker,
  releaseName,
  replaceLayers,
} from "./inventory.js";
import { writeJobRecord } from "./job-record.js";
import { isFleetName, keys, poolQueueName, QUEUE_PREFIX, workerQueueName } from "./keys.js";
import { publishStepMs } from "./route-view.js";
import { decayLoad } from "./routing.js";
import { executeJob } from "./run-job.js";
import { type FleetEvent, parseJobData } from "./schema.js";

export const DEFAULT_HEARTBEAT_MS = 3000;
/** BullMQ lock of a running job; renewed at a third of it. A dead worker's job is free after it. */
export const DEFAULT_LOCK_DURATION_MS = 30_000;
/** How often BullMQ looks for jobs whose worker died (lock expired) and puts them back. */
export const DEFAULT_STALLED_INTERVAL_MS = 15_000;
/** Heartbeats between two full resyncs of the layer inventory (catches prunes by others). */
const RESYNC_EVERY = 10;

/** What a worker reports as it runs; the CLI prints these. */
export type WorkerEvent =
  | { type: "registered"; name: string; pool: string; layers: number }
  | { type: "job-start"; jobId: string; queue: string; attempt: number }
  | {
      type: "job-end";
      jobId: string;
      outcome: "done" | "failed" | "retry" | "handed-back" | "lost" | "cancelled";
      message?: string;
    }
  | { type: "state"; state: AdminState }
  | { type: "warning"; message: string };

export interface FleetWorkerOptions {
  readonly url: URL;
  readonly store: Store;
  /** @default the host name */
  readonly name?: string;
  /** @default "default" */
  readonly pool?: string;
  /** Jobs run at once. @default 1 */
  readonly capacity?: number;
  /** Secrets jobs may name by ID (`--secret ID:FILE`); they never go to Redis. @default none */
  readonly secrets?: SecretValues;
  /**
   * The registry every worker of the fleet shares (`--registry`): before a step, a layer built
   * by another worker is pulled instead of rebuilt; after a step, the layer is pushed. A
   * registry problem is a warning, never a failed job. @default none (layers stay local)
   */
  readonly registry?: BuildRegistryOptions;
  /** @default DEFAULT_HEARTBEAT_MS */
  readonly heartbeatMs?: number;
  /** @default DEFAULT_LOCK_DURATION_MS */
  readonly lockDurationMs?: number;
  /** @default DEFAULT_STALLED_INTERVAL_MS */
  readonly stalledIntervalMs?: number;
  readonly onEvent?: (e: WorkerEvent) => void;
}

interface Running {
  readonly job: Job;
  readonly token: string;
  readonly ac: AbortController;
  reason?: "cancel" | "handback" | "lost";
  /** When the job is estimated to end (its submitter's estimate from its start), epoch ms. */
  endsAt?: number;
  /** The job's chain: layers it builds that routing counts as coming (`building`). */
  chain?: readonly string[];
}

/**
 * A long-running worker: takes jobs from its own queue first (jobs routed to it for its cache)
 * and then from its pool's queue, builds each in its store, and reports events, heartbeats and
 * its layer inventory. Uses BullMQ's manual processing so that one capacity spans both queues.
 */
export class FleetWorker implements AsyncDisposable {
  readonly name: string;
  readonly pool: string;
  readonly instance = randomUUID();
  /** Settles when the worker has stopped (drained, stopped, or its name was taken over). */
  readonly finished: Promise<void>;
  readonly #o: FleetWorkerOptions;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #own: Worker;
  readonly #poolWorker: Worker;
  /** The own queue, to count the jobs waiting in it for the recent load. */
  readonly #ownQueue: Queue;
  readonly #running = new Map<string, Running>();
  readonly #capacity: number;
  readonly #heartbeatMs: number;
  readonly #lockMs: number;
  #admin: AdminState = "active";
  #draining = false;
  #fatal: Error | undefined;
  #beats = 0;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #started = Date.now();
  /** Load averaged over about the last hour (`decayLoad`), sampled at each heartbeat. */
  #recentLoad = { load: 0, at: Date.now() };

  private constructor(o: FleetWorkerOptions, redis: Redis) {
    this.#o = o;
    this.name = o.name ?? hostname();
    this.pool = o.pool ?? "default";
    this.#capacity = o.capacity ?? 1;
    this.#heartbeatMs = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#lockMs = o.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS;
    for (const [flag, v] of [
      ["--name", this.name],
      ["--pool", this.pool],
    ] as const)
      if (!isFleetName(v))
        throw new FleetOptionsError(
          `option "${flag}": "${v}" may hold only letters, digits, ".", "_" and "-"`,
        );
    if (!Number.isInteger(this.#capacity) || this.#capacity < 1)
      throw new FleetOptionsError(
        `option "--capacity": ${this.#capacity} is not a positive whole number`,
      );
    this.#redis = redis;
    this.#sub = redis.duplicate();
    this.#sub.on("error", () => {}); // reconnects on its own; the heartbeat reports outages

    const opts = {
      connection: redis,
      prefix: QUEUE_PREFIX,
      autorun: false,
      lockDuration: this.#lockMs,
      stalledInterval: o.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
      maxStalledCount: 2,
      // Seconds a fetch from the pool blocks: a job routed to this worker waits at most this.
      drainDelay: 1,
      name: this.name,
    };
    this.#own = new Worker(workerQueueName(this.name), null, opts);
    this.#poolWorker = new Worker(poolQueueName(this.pool), null, opts);
    this.#ownQueue = new Queue(workerQueueName(this.name), {
      connection: redis,
      prefix: QUEUE_PREFIX,
    });
    for (const w of [this.#own, this.#poolWorker])
      w.on("error", (err) => this.#warn(`queue: ${err.message}`));
    this.finished = Promise.resolve();
  }

  /** Connects, reaps VMs a killed predecessor left, registers (taking the name over) and starts. */
  static async start(o: FleetWorkerOptions, signal?: AbortSignal): Promise<FleetWorker> {
    const redis = openRedis(o.url);
    try {
      await waitForRedis(redis, o.url, undefined, signal);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    const w = new FleetWorker(o, redis);
    await w.#register();
    (w as { finished: Promise<void> }).finished = w.#run();
    return w;
  }

  /** What the operator asked of this worker, as of its last heartbeat. */
  get state(): AdminState {
    return this.#admin;
  }

  get running(): number {
    return this.#running.size;
  }

  /** Stops taking jobs; `finished` settles once the running ones are done. */
  drain(): void {
    this.#draining = true;
    this.#wake?.();
  }

  /** Stops taking jobs and hands running ones back to their queue (their VMs are stopped). */
  stop(): void {
    this.drain();
    for (const r of this.#running.values()) {
      r.reason ??= "handback";
      r.ac.abort(new Error("worker stopping"));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.stop();
    await this.finished.catch(() => {});
  }

  async #register(): Promise<void> {
    await reapStaleVms().catch(() => []);
    const layers = this.#o.store.list().map((l) => l.id);
    const admin = await this.#redis.get(keys.admin(this.name));
    // A restart after `fleet drain` starts active again; a pause outlives restarts.
    if (admin === "draining") await this.#redis.set(keys.admin(this.name), "active");
    await registerWorker(this.#redis, await this.#fields(), layers, this.#heartbeatMs * 5);
    await this.#sub.subscribe(keys.cancelChannel);
    this.#sub.on("message", (_channel: string, jobId: string) => this.#cancel(jobId));
    await this.#own.startStalledCheckTimer();
    await this.#poolWorker.startStalledCheckTimer();
    this.#o.onEvent?.({
      type: "registered",
      name: this.name,
      pool: this.pool,
      layers: layers.length,
    });
  }

  async #fields() {
    const space = await filesystemSpace(this.#o.store.root).catch(() => ({ free: 0 }));
    // The whole record each time: after a Redis restart one heartbeat restores it.
    return {
      name: this.name,
      pool: this.pool,
      instance: this.instance,
      startedAt: this.#started,
      capacity: this.#capacity,
      running: this.#running.size,
      jobs: [...this.#running.keys()],
      runningEnds: this.#runningEnds(),
      building: this.#building(),
      recentLoad: await this.#sampleLoad(),
      freeDisk: space.free,
      layerCount: this.#o.store.list().length,
      lastSeen: Date.now(),
      bases: await describeBaseImages(this.#o.store),
    };
  }

  async #beat(): Promise<void> {
    try {
      const admin = await heartbeat(
        this.#redis,
        this.name,
        this.instance,
        await this.#fields(),
        this.#heartbeatMs * 5,
      );
      if (admin !== this.#admin) {
        this.#admin = admin;
        this.#o.onEvent?.({ type: "state", state: admin });
        if (admin === "draining") this.drain();
        this.#wake?.();
      }
      for (const id of this.#running.keys())
        if (await this.#redis.exists(keys.cancel(id))) this.#cancel(id);
      const lostLayers =
        this.#o.store.list().length > 0 && (await this.#redis.exists(keys.layers(this.name))) === 0;
      if (lostLayers || ++this.#beats % RESYNC_EVERY === 0)
        await replaceLayers(
          this.#redis,
          this.name,
          this.#o.store.list().map((l) => l.id),
        );
    } catch (err) {
      if (err instanceof FleetNameTakenError) {
        this.#fatal = err;
        this.stop();
        return;
      }
      this.#warn(`heartbeat: ${(err as Error).message}`);
    }
  }

  /** Running jobs change the load routing sees: published at once, not at the next heartbeat. */
  async #publishRunning(): Promise<void> {
    await this.#redis
      .hset(keys.worker(this.name), {
        running: String(this.#running.size),
        jobs: JSON.stringify([...this.#running.keys()]),
        runningEnds: JSON.stringify(this.#runningEnds()),
        building: JSON.stringify(this.#building()),
      })
      .catch(() => {});
  }

  /** Folds the load now (running and waiting jobs per slot) into the recent load; returns it. */
  async #sampleLoad(): Promise<number> {
    const load = (this.#running.size + (await this.#ownQueue.getWaitingCount())) / this.#capacity;
    const now = Date.now();
    const recent = decayLoad(this.#recentLoad.load, load, now - this.#recentLoad.at);
    this.#recentLoad = { load: recent, at: now };
    // Six decimals: the published text stays a plain decimal, as the record's schema wants.
    return Number(recent.toFixed(6));
  }

  /** The layer IDs of the running jobs' chains: held once built, coming until then. */
  #building(): string[] {
    return [...new Set([...this.#running.values()].flatMap((r) => r.chain ?? []))];
  }

  #runningEnds(): number[] {
    return [...this.#running.values()].flatMap((r) => (r.endsAt === undefined ? [] : [r.endsAt]));
  }

  #cancel(jobId: string): void {
    const r = this.#running.get(jobId);
    if (!r) return;
    r.reason ??= "cancel";
    r.ac.abort(new Error("cancelled"));
  }

  #warn(message: string): void {
    this.#o.onEvent?.({ type: "warning", message });
  }

  async #run(): Promise<void> {
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => {
        this.#beating = undefined;
      });
    }, this.#heartbeatMs);
    const jobs = new Set<Promise<void>>();
    try {
      while (!this.#draining) {
        if (this.#admin !== "active" || this.#running.size >= this.#capacity) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
            setTimeout(resolve, 1000);
          });
          continue;
        }
        const next = await this.#next().catch((err: Error) => {
          this.#warn(`fetching a job: ${err.message}`);
          return new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000));
        });
        if (!next) continue;
        // Paused or drained while the fetch blocked: the job goes back for someone else.
        if (this.#draining || this.#admin !== "active") {
          await next.job.moveToWait(next.token).catch(() => {});
          continue;
        }
        // A job whose bookkeeping fails (Redis lost it, say after a restart) is that job's
        // problem: the worker warns and goes on.
        const p = this.#process(next.job, next.token, next.queue)
          .catch((err: Error) => this.#warn(`job ${next.job.id}: ${err.message}`))
          .finally(() => {
            jobs.delete(p);
            this.#wake?.();
          });
        jobs.add(p);
      }
      await Promise.all(jobs);
    } finally {
      clearInterval(this.#timer);
      await this.#beating;
      await this.#own.close().catch(() => {});
      await this.#poolWorker.close().catch(() => {});
      await this.#ownQueue.close().catch(() => {});
      await releaseName(this.#redis, this.name, this.instance).catch(() => {});
      this.#sub.disconnect();
      this.#redis.disconnect();
    }
    if (this.#fatal) throw this.#fatal;
  }

  /** The next job: this worker's own queue first (routed here for its cache), then the pool. */
  async #next(): Promise<{ job: Job; token: string; queue: string } | undefined> {
    const token = `${this.instance}:${randomUUID()}`;
    const own = await this.#own.getNextJob(token, { block: false });
    if (own) return { job: own, token, queue: this.#own.name };
    const pooled = await this.#poolWorker.getNextJob(token, { block: true });
    return pooled ? { job: pooled, token, queue: this.#poolWorker.name } : undefined;
  }

  async #process(job: Job, token: string, queue: string): Promise<void> {
    const id = job.id!;
    const r: Running = { job, token, ac: new AbortController() };
    this.#running.set(id, r);
    await this.#publishRunning();
    let appended = Promise.resolve();
    const emit = (e: FleetEvent) => {
      appended = appended
        .then(() => appendEvent(this.#redis, id, e))
        .catch((err: Error) => this.#warn(`job ${id}: event lost: ${err.message}`));
    };
    const lock = setInterval(() => {
      job.extendLock(token, this.#lockMs).then(
        (ok) => {
          if (!ok) {
            r.reason ??= "lost";
            r.ac.abort(new Error("lock lost"));
          }
        },
        (err: Error) => this.#warn(`job ${id}: lock renewal: ${err.message}`),
      );
    }, this.#lockMs / 3);
    const attempt = job.attemptsStarted || job.attemptsMade + 1;
    this.#o.onEvent?.({ type: "job-start", jobId: id, queue, attempt });
    const end = (outcome: Extract<WorkerEvent, { type: "job-end" }>["outcome"], message?: string) =>
      this.#o.onEvent?.({ type: "job-end", jobId: id, outcome, ...(message ? { message } : {}) });
    try {
      let data: ReturnType<typeof parseJobData>;
      try {
        data = parseJobData(job.data);
      } catch (err) {
        // A malformed job fails, the worker goes on.
        const e = err as Error & { code: string };
        emit({ type: "end", ok: false, code: e.code, message: e.message, worker: this.name });
        await appended;
        await job.moveToFailed(new UnrecoverableError(e.message), token, false);
        await writeJobRecord(this.#redis, id, {
          state: "failed",
          code: e.code,
          finishedAt: Date.now(),
        });
        end("failed", e.message);
        return;
      }
      r.chain = data.chain;
      if (data.estimateMs !== undefined) r.endsAt = Date.now() + data.estimateMs;
      await this.#publishRunning();
      emit({ type: "attempt", worker: this.name, attempt });
      await writeJobRecord(this.#redis, id, {
        state: "running",
        worker: this.name,
        startedAt: Date.now(),
        queue,
      });
      if (await this.#redis.exists(keys.cancel(id))) {
        r.reason = "cancel";
        r.ac.abort();
      }
      const layers: string[] = [];
      let stepStarted = Date.now();
      try {
        if (r.ac.signal.aborted) throw r.ac.signal.reason ?? new Error("cancelled");
        const layer = await executeJob({
          redis: this.#redis,
          data,
          store: this.#o.store,
          secrets: this.#o.secrets ?? new Map(),
          registry: this.#o.registry,
          worker: this.name,
          signal: r.ac.signal,
          onEvent: (e: BuildEvent) => {
            emit(toFleetEvent(e));
            if (e.type === "step") stepStarted = Date.now();
            // What a built step took: submitters estimate jobs by it (a cached one took nothing).
            if (e.type === "saved")
              void publishStepMs(this.#redis, e.id, Date.now() - stepStarted).catch(() => {});
            if (e.type === "saved" || e.type === "cached") {
              layers.push(e.id);
              void addLayers(this.#redis, this.name, [e.id]).catch(() => {});
            }
          },
        });
        emit({ type: "end", ok: true, id: layer, worker: this.name });
        await appended;
        await job.moveToCompleted({ layer }, token, false);
        await writeJobRecord(this.#redis, id, { state: "done", layer, finishedAt: Date.now() });
        end("done", layer);
      } catch (err) {
        await this.#fail(job, token, r, err as Error, emit, () => appended, end);
      }
    } finally {
      clearInterval(lock);
      this.#running.delete(id);
      await this.#publishRunning();
    }
  }

  async #fail(
    job: Job,
    token: string,
    r: Running,
    err: Error,
    emit: (e: FleetEvent) => void,
    flushed: () => Promise<void>,
    end: (outcome: Extract<WorkerEvent, { type: "job-end" }>["outcome"], message?: string) => void,
  ): Promise<void> {
    const id = job.id!;
    if (r.reason === "lost") {
      // BullMQ gave the job to another worker: it is theirs now; touch nothing.
      end("lost", "its lock expired and the job went back to the queue");
      return;
    }
    if (r.reason === "handback") {
      emit({
        type: "warning",
        message: `worker "${this.name}" stopped; the job went back to the queue`,
      });
      await flushed();
      await job.moveToWait(token);
      await writeJobRecord(this.#redis, id, { state: "queued", enqueuedAt: Date.now() });
      end("handed-back");
      return;
    }
    const errCode: unknown = (err as { code?: unknown }).code;
    const code =
      r.reason === "cancel"
        ? "FLEET_CANCELLED"
        : typeof errCode === "string"
          ? errCode
          : "FLEET_WORKER_ERROR";
    const message =
      r.reason === "cancel" ? "the job was cancelled; its VM was stopped" : err.message;
    // Only the fleet's own stops (watchdog, deadline) are worth another attempt; a failed
    // build step fails the same way again.
    const retry =
      err instanceof FleetJobAbortedError && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    if (retry) {
      emit({ type: "warning", message: `${message}; retrying` });
      await flushed();
      await job.moveToFailed(err, token, false);
      await writeJobRecord(this.#redis, id, { state: "queued", enqueuedAt: Date.now() });
      end("retry", message);
      return;
    }
    emit({ type: "end", ok: false, code, message, worker: this.name });
    await flushed();
    await job.moveToFailed(new UnrecoverableError(message), token, false);
    await writeJobRecord(this.#redis, id, {
      state: r.reason === "cancel" ? "cancelled" : "failed",
      code,
      finishedAt: Date.now(),
    });
    end(r.reason === "cancel" ? "cancelled" : "failed", message);
  }
}
