import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeBaseImages } from "./base-info.js";
import { packContext, putContext } from "./context.js";
import { type FollowEvent, followJob } from "./follow.js";
import { listWorkers } from "./inventory.js";
import { readJobRecord, writeJobRecord } from "./job-record.js";
import { keys, poolQueueName, workerQueueName } from "./keys.js";
import { publishStepMs, readRouteCandidates } from "./route-view.js";
import { chooseRoute } from "./routing.js";
import { FLEET_PROTOCOL, type JobData } from "./schema.js";
import { connect } from "./submit.js";
import {
  createTestStore,
  holdBaseBuild,
  seedLayers,
  startRedis,
  type TestRedis,
  type TestStore,
  testContext,
  testSpec,
} from "./testing.js";
import { FleetWorker } from "./worker.js";

const FAST = { heartbeatMs: 300, lockDurationMs: 3000, stalledIntervalMs: 1000 };
const MINUTE = 60_000;

/**
 * A worker that exists only as what it published: a record (running jobs and when they are
 * estimated to end), an alive key and a layer inventory. It never takes a job, so a job routed
 * to it stays there unless the follower moves it.
 */
async function fakeWorker(
  redis: Redis,
  store: TestStore,
  o: {
    name: string;
    pool: string;
    running: number;
    runningEnds: string;
    layers: string[];
    recentLoad?: string;
  },
): Promise<void> {
  const bases = await describeBaseImages(store.store);
  await redis.hset(keys.worker(o.name), {
    name: o.name,
    pool: o.pool,
    instance: `fake-${o.name}`,
    capacity: "1",
    running: String(o.running),
    jobs: "[]",
    runningEnds: o.runningEnds,
    freeDisk: "1000000000",
    layerCount: String(o.layers.length),
    lastSeen: String(Date.now()),
    startedAt: String(Date.now()),
    bases: JSON.stringify(bases),
    ...(o.recentLoad === undefined ? {} : { recentLoad: o.recentLoad }),
  });
  await redis.sadd(keys.workers, o.name);
  await redis.set(keys.alive(o.name), `fake-${o.name}`, "EX", 120);
  await redis.del(keys.layers(o.name));
  if (o.layers.length > 0) await redis.sadd(keys.layers(o.name), ...o.layers);
}

describe("moving a waiting job by estimated completion, on a real Redis", () => {
  let redis: TestRedis;
  let a: TestStore;
  const ctx = testContext();
  const { spec, text } = testSpec("echo routed");
  let chain: string[];
  beforeAll(async () => {
    redis = await startRedis();
    a = await createTestStore();
    chain = await seedLayers(a.store, spec, ctx.dir);
  }, 60_000);
  afterAll(async () => {
    await redis?.[Symbol.asyncDispose]();
    ctx.remove();
    await a?.[Symbol.asyncDispose]();
  }, 60_000);

  /** Puts a job straight into a worker's queue, as submitBuild does once it routed it there. */
  async function enqueue(
    conn: Awaited<ReturnType<typeof connect>>,
    id: string,
    pool: string,
    worker: string,
  ): Promise<void> {
    const data: JobData = {
      v: FLEET_PROTOCOL,
      id,
      pool,
      spec: { file: "build.spec", text },
      context: await putContext(conn.redis, await packContext(ctx.dir)),
      secrets: [],
      options: {},
      deadlineMs: 10 * MINUTE,
      watchdogMs: 10 * MINUTE,
      submittedAt: Date.now(),
      submitter: "test",
      chain,
      estimateMs: 0,
    };
    const queue = workerQueueName(worker);
    const now = Date.now();
    await writeJobRecord(
      conn.redis,
      id,
      { id, queue, state: "queued", spec: "build.spec", submittedAt: now, enqueuedAt: now },
      true,
    );
    await conn.queues.add(queue, data);
  }

  /**
   * Follows a job until it moves (or, with `stay`, for all of `ms`), then stops following;
   * returns what the follower reported.
   */
  async function follow(
    conn: Awaited<ReturnType<typeof connect>>,
    id: string,
    o: { ms: number; stay?: boolean; spillAfterMs?: number; moveCheckMs?: number },
  ): Promise<FollowEvent[]> {
    const seen: FollowEvent[] = [];
    const stop = new AbortController();
    const { ms, stay, ...rest } = o;
    await expect(
      followJob({
        ...conn,
        jobId: id,
        ...rest,
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(ms)]),
        onEvent: () => {},
        onFollowEvent: (e) => {
          seen.push(e);
          if (!stay && e.type === "spilled") stop.abort();
        },
      }),
    ).rejects.toThrow();
    return seen;
  }

  it("moves a job waiting behind a long running one to a free worker that finishes it sooner", async () => {
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "free",
      pool: "sooner",
      ...FAST,
    });
    await using conn = await connect(redis.url);
    // "busy" holds every layer too, but its running job is estimated to end in 10 minutes.
    await fakeWorker(conn.redis, a, {
      name: "busy",
      pool: "sooner",
      running: 1,
      runningEnds: JSON.stringify([Date.now() + 10 * MINUTE]),
      layers: chain,
    });
    await enqueue(conn, "job-sooner", "sooner", "busy");
    const seen: FollowEvent[] = [];
    const outcome = await followJob({
      ...conn,
      jobId: "job-sooner",
      moveCheckMs: 200,
      signal: AbortSignal.timeout(30_000),
      onEvent: () => {},
      onFollowEvent: (e) => seen.push(e),
    });
    expect(seen[0]).toEqual({
      type: "spilled",
      from: "worker-busy",
      to: "worker-free",
      reason: "sooner",
    });
    expect(outcome).toEqual({ layer: chain.at(-1), worker: "free" });
    expect((await readJobRecord(conn.redis, "job-sooner"))?.queue).toBe("worker-free");
    void worker;
  });

  it("keeps a job where it finishes sooner, and moves it once the wait there outweighs a miss", async () => {
    await using conn = await connect(redis.url);
    // Each step took 10 minutes where it was built: "empty" would rebuild both.
    for (const id of chain) await publishStepMs(conn.redis, id, 10 * MINUTE);
    const steps = chain.length * 10 * MINUTE;
    await fakeWorker(conn.redis, a, {
      name: "holder",
      pool: "stay",
      running: 1,
      runningEnds: JSON.stringify([Date.now() + MINUTE]),
      layers: chain,
    });
    await fakeWorker(conn.redis, a, {
      name: "empty",
      pool: "stay",
      running: 0,
      runningEnds: "[]",
      layers: [],
    });
    await enqueue(conn, "job-stay", "stay", "holder");
    // Done in a minute on "holder" against the steps' time plus 3x the work added on "empty".
    const stayed = await follow(conn, "job-stay", { ms: 8000, stay: true, moveCheckMs: 200 });
    expect(stayed).toEqual([]);
    expect(await conn.queues.get("worker-holder").getJobState("job-stay")).toBe("waiting");
    expect((await readJobRecord(conn.redis, "job-stay"))?.queue).toBe("worker-holder");
    // Now the running job is estimated to end later than rebuilding on "empty" and its penalty.
    await fakeWorker(conn.redis, a, {
      name: "holder",
      pool: "stay",
      running: 1,
      runningEnds: JSON.stringify([Date.now() + 4 * steps + 10 * MINUTE]),
      layers: chain,
    });
    const moved = await follow(conn, "job-stay", { ms: 30_000, moveCheckMs: 200 });
    expect(moved).toEqual([
      { type: "spilled", from: "worker-holder", to: "worker-empty", reason: "sooner" },
    ]);
    expect(await conn.queues.get("worker-empty").getJobState("job-stay")).toBe("waiting");
    // The moved job carries its estimate on the new worker: the steps it will build there.
    const job = await conn.queues.get("worker-empty").getJob("job-stay");
    expect((job?.data as JobData | undefined)?.estimateMs).toBe(steps);
  });

  it("sends a job to the pool after the waited limit, whatever the estimates say", async () => {
    await using conn = await connect(redis.url);
    await fakeWorker(conn.redis, a, {
      name: "stuck",
      pool: "wait",
      running: 1,
      // Its running job is estimated to end within a second, so staying always looks sooner.
      runningEnds: JSON.stringify([Date.now() + 1000]),
      layers: chain,
    });
    await fakeWorker(conn.redis, a, {
      name: "spare",
      pool: "wait",
      running: 0,
      runningEnds: "[]",
      layers: [],
    });
    await enqueue(conn, "job-wait", "wait", "stuck");
    const seen = await follow(conn, "job-wait", {
      ms: 30_000,
      spillAfterMs: 2500,
      moveCheckMs: 200,
    });
    expect(seen).toEqual([
      { type: "spilled", from: "worker-stuck", to: poolQueueName("wait"), reason: "waited" },
    ]);
    expect(await conn.queues.get(poolQueueName("wait")).getJobState("job-wait")).toBe("waiting");
    expect((await readJobRecord(conn.redis, "job-wait"))?.queue).toBe(poolQueueName("wait"));
  });

  it("counts the estimates of the jobs queued on a worker, ignoring a malformed one", async () => {
    await using conn = await connect(redis.url);
    await fakeWorker(conn.redis, a, {
      name: "queued",
      pool: "queued",
      running: 1,
      runningEnds: JSON.stringify([Date.now() + 10 * MINUTE]),
      layers: [],
    });
    await enqueue(conn, "job-q1", "queued", "queued");
    const q = conn.queues.get(workerQueueName("queued"));
    const good = await q.getJob("job-q1");
    await good?.updateData({ ...(good.data as JobData), estimateMs: 5 * MINUTE });
    // Written by some other program: its worker would fail it at once, so it is no backlog.
    await q.add(
      "build",
      { ...(good?.data as JobData), id: "job-q2", estimateMs: -5 },
      { jobId: "job-q2" },
    );
    const [candidate] = await readRouteCandidates({
      redis: conn.redis,
      queues: conn.queues,
      pool: "queued",
      chainFor: async () => chain,
    });
    expect(candidate?.worker.queued).toBe(2);
    const backlog = candidate?.worker.backlogMs ?? 0;
    // The running job's 10 minutes (less the time the reads took) and the good job's 5.
    expect(backlog).toBeGreaterThan(14 * MINUTE);
    expect(backlog).toBeLessThanOrEqual(15 * MINUTE);
    // The good job will build the chain: a job routed after it finds it pending there.
    expect(candidate?.worker.pending?.(chain.at(-1)!)).toBe(true);
  });

  it("routes to a worker whose runningEnds is malformed, ignoring only that field, with a reason", async () => {
    await using conn = await connect(redis.url);
    await fakeWorker(conn.redis, a, {
      name: "garbled",
      pool: "garbled",
      running: 1,
      runningEnds: "[not json",
      layers: chain,
    });
    const view = (await listWorkers(conn.redis)).find((w) => w.name === "garbled");
    expect(view?.state).toBe("active");
    expect(view?.problem).toMatch(/^runningEnds: not JSON/);
    const [candidate, ...rest] = await readRouteCandidates({
      redis: conn.redis,
      queues: conn.queues,
      pool: "garbled",
      chainFor: async () => chain,
    });
    expect(rest).toEqual([]);
    expect(candidate?.worker.name).toBe("garbled");
    expect(candidate?.worker.backlogMs).toBe(0);
    expect(candidate?.worker.has(chain.at(-1)!)).toBe(true);
  });

  it("publishes a worker's recent load with its queue in it, and routes a miss by it", async () => {
    await using conn = await connect(redis.url);
    // A paused worker with jobs waiting in its queue: its recent load rises from 0.
    await conn.redis.set(keys.admin("loaded"), "paused");
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "loaded",
      pool: "recent",
      ...FAST,
    });
    await enqueue(conn, "job-r1", "recent", "loaded");
    await enqueue(conn, "job-r2", "recent", "loaded");
    const published = async () =>
      (await listWorkers(conn.redis)).find((w) => w.name === "loaded")?.record?.recentLoad;
    await expect.poll(published, { timeout: 10_000, interval: 200 }).toBeGreaterThan(0);
    expect(await published()).toBeLessThan(2);
    // A job no worker holds a layer of goes to the idle worker least loaded lately; a
    // malformed figure is ignored with a reason and the worker still routes (by its load now).
    await fakeWorker(conn.redis, a, {
      name: "idle-busy-lately",
      pool: "recent",
      running: 0,
      runningEnds: "[]",
      layers: [],
      recentLoad: "0.75",
    });
    await fakeWorker(conn.redis, a, {
      name: "idle-quiet-lately",
      pool: "recent",
      running: 0,
      runningEnds: "[]",
      layers: [],
      recentLoad: "0.05",
    });
    await fakeWorker(conn.redis, a, {
      name: "idle-garbled",
      pool: "recent",
      running: 0,
      runningEnds: "[]",
      layers: [],
      recentLoad: "1e3",
    });
    const garbled = (await listWorkers(conn.redis)).find((w) => w.name === "idle-garbled");
    expect(garbled?.problem).toMatch(/^recentLoad: /);
    const candidates = await readRouteCandidates({
      redis: conn.redis,
      queues: conn.queues,
      pool: "recent",
      chainFor: async () => chain,
    });
    const byName = new Map(candidates.map((c) => [c.worker.name, c.worker]));
    expect(byName.get("idle-busy-lately")?.recentLoad).toBe(0.75);
    expect(byName.get("idle-garbled")?.recentLoad).toBeUndefined();
    // Every step costs the same everywhere (nobody measured them): equal scores among the idle.
    const pick = (names: string[]) =>
      chooseRoute(candidates.filter((c) => names.includes(c.worker.name)));
    expect(pick(["idle-busy-lately", "idle-quiet-lately"])).toMatchObject({
      worker: "idle-quiet-lately",
    });
    // The garbled one counts by its load now: 0, below the quiet one's 0.05.
    expect(pick(["idle-busy-lately", "idle-quiet-lately", "idle-garbled"])).toMatchObject({
      worker: "idle-garbled",
    });
    // Resumed, the worker runs its queue (every step is seeded: no VM).
    await conn.redis.set(keys.admin("loaded"), "active");
    for (const id of ["job-r1", "job-r2"])
      await expect
        .poll(() => conn.queues.get(workerQueueName("loaded")).getJobState(id), {
          timeout: 20_000,
          interval: 200,
        })
        .toBe("completed");
    void worker;
  });

  it("counts the layers a running job builds as coming on its worker, before its inventory has them", async () => {
    // A store without the layers; its base layer's build is held by this test, so the job that
    // builds on it stays running, with none of its chain built.
    await using b = await createTestStore();
    const held = await holdBaseBuild(b.store);
    await using conn = await connect(redis.url);
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: b.store,
      name: "builder",
      pool: "building",
      ...FAST,
    });
    await fakeWorker(conn.redis, a, {
      name: "empty-idle",
      pool: "building",
      running: 0,
      runningEnds: "[]",
      layers: [],
    });
    await enqueue(conn, "job-b1", "building", "builder");
    const published = async () =>
      (await listWorkers(conn.redis)).find((w) => w.name === "builder")?.record?.building;
    await expect.poll(published, { timeout: 10_000, interval: 200 }).toEqual(chain);
    const candidates = await readRouteCandidates({
      redis: conn.redis,
      queues: conn.queues,
      pool: "building",
      chainFor: async () => chain,
    });
    const builder = candidates.find((c) => c.worker.name === "builder")!;
    expect(builder.worker.running).toBe(1);
    expect(builder.worker.has(chain.at(-1)!)).toBe(false);
    expect(builder.worker.pending?.(chain.at(-1)!)).toBe(true);
    // The same spec again goes after it, not to an idle worker that would build it a second time.
    expect(chooseRoute(candidates)).toMatchObject({ worker: "builder", depth: 0, estimateMs: 0 });
    await held.release();
    void worker;
  });
});
