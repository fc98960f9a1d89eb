import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forgetWorker, setWorkerState } from "./admin.js";
import { packContext, putContext } from "./context.js";
import { FleetNameTakenError, FleetWorkerUnknownError } from "./errors.js";
import { listWorkers } from "./inventory.js";
import { readJobRecord, writeJobRecord } from "./job-record.js";
import { keys, workerQueueName } from "./keys.js";
import { computeLayerChain } from "./layer-chain.js";
import { FLEET_PROTOCOL, type JobData } from "./schema.js";
import { connect, submitBuild } from "./submit.js";
import {
  createTestStore,
  seedLayers,
  startRedis,
  type TestRedis,
  type TestStore,
  testContext,
  testSpec,
} from "./testing.js";
import { FleetWorker } from "./worker.js";

const FAST = { heartbeatMs: 300, lockDurationMs: 3000, stalledIntervalMs: 1000 };

function submit(
  redis: TestRedis,
  command: string,
  ctx: string,
  extra: { signal?: AbortSignal; onQueued?: (id: string) => void } = {},
) {
  const { spec, text } = testSpec(command);
  return submitBuild({
    url: redis.url,
    spec,
    specText: text,
    specFile: "build.spec",
    contextDir: ctx,
    onEvent: () => {},
    ...(extra.signal ? { signal: extra.signal } : {}),
    onSubmitEvent: (e) => {
      if (e.type === "queued") extra.onQueued?.(e.jobId);
    },
  });
}

describe("operating a fleet on a real Redis", () => {
  let redis: TestRedis;
  let a: TestStore;
  const ctx = testContext();
  beforeAll(async () => {
    redis = await startRedis();
    a = await createTestStore();
    for (const c of ["echo p", "echo q", "echo r", "echo s"])
      await seedLayers(a.store, testSpec(c).spec, ctx.dir);
  }, 60_000);
  afterAll(async () => {
    // Redis first: it stops at once, so a store that is slow to close never leaves it running.
    await redis?.[Symbol.asyncDispose]();
    ctx.remove();
    await a?.[Symbol.asyncDispose]();
  }, 60_000);

  it("pause holds jobs back, resume lets them run, drain stops the worker", async () => {
    await using conn = await connect(redis.url);
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "op",
      ...FAST,
    });
    await setWorkerState(conn.redis, "op", "paused");
    await expect.poll(() => worker.state).toBe("paused");
    expect((await listWorkers(conn.redis)).find((w) => w.name === "op")?.state).toBe("paused");
    let jobId = "";
    const build = submit(redis, "echo p", ctx.dir, {
      onQueued: (id) => {
        jobId = id;
      },
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await readJobRecord(conn.redis, jobId))?.state).toBe("queued");
    await setWorkerState(conn.redis, "op", "active");
    expect((await build).worker).toBe("op");
    await setWorkerState(conn.redis, "op", "draining");
    await worker.finished;
    // A clean exit releases the name at once.
    expect((await listWorkers(conn.redis)).find((w) => w.name === "op")?.state).toBe("gone");
    await expect(setWorkerState(conn.redis, "nobody", "paused")).rejects.toBeInstanceOf(
      FleetWorkerUnknownError,
    );
  });

  it("a restart under the same name takes it over; the old instance stops", async () => {
    const first = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "same",
      ...FAST,
    });
    const second = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "same",
      ...FAST,
    });
    await expect(first.finished).rejects.toBeInstanceOf(FleetNameTakenError);
    expect((await submit(redis, "echo q", ctx.dir)).worker).toBe("same");
    second.drain();
    await second.finished;
  });

  it("rides out dropped connections and a Redis restart", async () => {
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "sturdy",
      ...FAST,
    });
    await using conn = await connect(redis.url);
    await conn.redis.call("CLIENT", "KILL", "TYPE", "normal");
    expect((await submit(redis, "echo r", ctx.dir)).worker).toBe("sturdy");
    await redis.restart(); // no persistence: the fleet's data is gone too
    await using after = await connect(redis.url);
    // The worker comes back in the list and its inventory returns with its next heartbeats.
    await expect
      .poll(async () => (await listWorkers(after.redis)).map((w) => `${w.name}:${w.state}`), {
        timeout: 15_000,
      })
      .toContain("sturdy:active");
    await expect
      .poll(() => after.redis.scard(keys.layers("sturdy")), { timeout: 15_000 })
      .toBeGreaterThan(0);
    expect((await submit(redis, "echo s", ctx.dir)).worker).toBe("sturdy");
    void worker;
  });

  it("Ctrl-C on a waiting job removes it from the queue; forget moves a gone worker's jobs to the pool", async () => {
    await using conn = await connect(redis.url);
    // A worker that is registered but gone, whose queue holds a routed job.
    await using w = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "ghost",
      ...FAST,
    });
    await setWorkerState(conn.redis, "ghost", "paused");
    // The worker itself must know, not only Redis: it could take a pool job meanwhile.
    await expect.poll(() => w.state).toBe("paused");
    const ac = new AbortController();
    let jobId = "";
    const cancelled = submit(redis, "echo p", ctx.dir, {
      signal: ac.signal,
      onQueued: (id) => {
        jobId = id;
        ac.abort();
      },
    });
    await expect(cancelled).rejects.toThrow();
    expect((await readJobRecord(conn.redis, jobId))?.state).toBe("cancelled");
    expect(await conn.queues.get(workerQueueName("ghost")).getJobState(jobId)).toBe("unknown");

    // A job left in the queue of a worker that stopped.
    w.stop();
    await w.finished;
    const { spec, text } = testSpec("echo q");
    const routed = "left-behind";
    const data: JobData = {
      v: FLEET_PROTOCOL,
      id: routed,
      pool: "default",
      spec: { file: "build.spec", text },
      context: await putContext(conn.redis, await packContext(ctx.dir)),
      secrets: [],
      options: {},
      deadlineMs: 60_000,
      watchdogMs: 60_000,
      submittedAt: Date.now(),
      submitter: "test",
      chain: await computeLayerChain(spec, ctx.dir, () => undefined),
    };
    await writeJobRecord(
      conn.redis,
      routed,
      {
        id: routed,
        queue: workerQueueName("ghost"),
        state: "queued",
        spec: "build.spec",
        submittedAt: 1,
        enqueuedAt: 1,
      },
      true,
    );
    await conn.queues.add(workerQueueName("ghost"), data);
    const moved = await forgetWorker(conn.redis, conn.queues, "ghost");
    expect(moved).toBe(1);
    expect((await readJobRecord(conn.redis, routed))?.queue).toBe("pool-default");
    expect((await listWorkers(conn.redis)).map((x) => x.name)).not.toContain("ghost");
  });
});
