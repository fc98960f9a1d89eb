import { Queue, UnrecoverableError, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openRedis, waitForRedis } from "./connection.js";
import { FleetMessageInvalidError, FleetRedisError } from "./errors.js";
import { appendEvent } from "./event-stream.js";
import { followJob } from "./follow.js";
import { readJobRecord, writeJobRecord } from "./job-record.js";
import { keys, poolQueueName, QUEUE_PREFIX } from "./keys.js";
import { QueueSet } from "./queues.js";
import { connect, submitBuild } from "./submit.js";
import {
  collect,
  createTestStore,
  seedLayers,
  startRedis,
  type TestRedis,
  type TestStore,
  testContext,
  testSpec,
} from "./testing.js";
import { FleetWorker, type WorkerEvent } from "./worker.js";

const FAST = { heartbeatMs: 300, lockDurationMs: 3000, stalledIntervalMs: 1000 };

describe("a worker and a submitter on a real Redis (no VM: every step is a cache hit)", () => {
  let redis: TestRedis;
  let a: TestStore;
  const ctx = testContext();
  beforeAll(async () => {
    redis = await startRedis({ password: "s3cret-pw" });
    a = await createTestStore();
  }, 60_000);
  afterAll(async () => {
    // Redis first: it stops at once, so a store that is slow to close never leaves it running.
    await redis?.[Symbol.asyncDispose]();
    ctx.remove();
    await a?.[Symbol.asyncDispose]();
  }, 60_000);

  it("refuses a wrong password with a message that says so, and connects with the right one", async () => {
    const bad = new URL(redis.url.href);
    bad.password = "wrong";
    const r = openRedis(bad);
    await expect(waitForRedis(r, bad, 3000)).rejects.toSatisfy(
      (e) => e instanceof FleetRedisError && /password|WRONGPASS|NOAUTH/i.test(e.message),
    );
    r.disconnect();
    const ok = openRedis(redis.url);
    await waitForRedis(ok, redis.url, 3000);
    ok.disconnect();
  });

  it("routes a job to the worker holding its layers, streams its events, and survives a malformed job", async () => {
    const { spec, text } = testSpec("echo one");
    const chain = await seedLayers(a.store, spec, ctx.dir);
    const events: WorkerEvent[] = [];
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "wa",
      ...FAST,
      onEvent: (e) => events.push(e),
    });
    // A malformed job in the pool queue fails alone.
    const q = new Queue(poolQueueName("default"), {
      connection: openRedis(redis.url),
      prefix: QUEUE_PREFIX,
    });
    await q.add("build", { v: 1, nonsense: true }, { jobId: "bad-job" });
    const got = collect();
    const submitted: string[] = [];
    const result = await submitBuild({
      url: redis.url,
      spec,
      specText: text,
      specFile: "build.spec",
      contextDir: ctx.dir,
      onEvent: got.onEvent,
      onSubmitEvent: (e) =>
        submitted.push(e.type === "queued" ? `${e.type}:${e.queue}:${e.route.kind}` : e.type),
    });
    expect(submitted[0]).toBe("queued:worker-wa:worker");
    expect(result.layer).toBe(chain.at(-1));
    expect(result.worker).toBe("wa");
    expect(got.events.map((e) => e.type)).toEqual([
      "step",
      "cached",
      "step",
      "output",
      "cached",
      "done",
    ]);
    const output = got.events.find((e) => e.type === "output");
    expect(output?.type === "output" && output.chunk.toString()).toContain("output of");
    await expect
      .poll(async () => await q.getJobState("bad-job"), { timeout: 10_000 })
      .toBe("failed");
    expect(events).toContainEqual(
      expect.objectContaining({ type: "job-end", jobId: "bad-job", outcome: "failed" }),
    );
    expect((await readJobRecord(openRedis(redis.url), result.jobId))?.state).toBe("done");
    expect(worker.running).toBe(0);
    await q.close();
  });

  it("fails the follower, not the process, on a malformed event", async () => {
    await using conn = await connect(redis.url);
    await appendEvent(conn.redis, "job-x", { type: "comment", text: "fine" });
    await conn.redis.xadd(
      keys.events("job-x"),
      "*",
      "e",
      JSON.stringify({ type: "output", data: 42 }),
    );
    const got = collect();
    await expect(
      followJob({ ...conn, jobId: "job-x", onEvent: got.onEvent }),
    ).rejects.toBeInstanceOf(FleetMessageInvalidError);
    expect(got.events).toEqual([{ type: "comment", text: "fine" }]);
  });

  it("reports a worker's own failure, not a lost job, when it lands between two reads", async () => {
    await using conn = await connect(redis.url);
    const name = poolQueueName("race");
    await conn.queues.get(name).add("build", {}, { jobId: "job-race" });
    await writeJobRecord(
      conn.redis,
      "job-race",
      { id: "job-race", queue: name, state: "running", spec: "s", submittedAt: 1, enqueuedAt: 1 },
      true,
    );
    const bull = new Worker(name, null, { connection: openRedis(redis.url), prefix: QUEUE_PREFIX });
    const job = await bull.getNextJob("tok");
    // The follower's first read comes back empty; meanwhile the worker fails the job the way
    // FleetWorker does: its "end" event first, then BullMQ's failed state.
    let first = true;
    const reader = new Proxy(conn.reader, {
      get(target, prop, receiver) {
        if (prop !== "xread" || !first) return Reflect.get(target, prop, receiver);
        first = false;
        return async () => {
          await appendEvent(conn.redis, "job-race", {
            type: "end",
            ok: false,
            code: "SECRET_MISSING",
            message: "no secret",
            worker: "w",
          });
          await job?.moveToFailed(new UnrecoverableError("no secret"), "tok", false);
          return null;
        };
      },
    });
    await expect(
      followJob({ ...conn, reader, jobId: "job-race", onEvent: () => {} }),
    ).rejects.toMatchObject({ code: "SECRET_MISSING", message: "no secret" });
    await bull.close();
  });

  it("spills a job its preferred worker does not take to the pool", async () => {
    const { spec, text } = testSpec("echo spill");
    await seedLayers(a.store, spec, ctx.dir);
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "wb",
      ...FAST,
    });
    // "a-pinned" holds the same layers and sorts first, but never takes a job: it is only a record.
    await using conn = await connect(redis.url);
    const rec = await conn.redis.hgetall(keys.worker("wb"));
    await conn.redis.hset(keys.worker("a-pinned"), { ...rec, name: "a-pinned", instance: "x" });
    await conn.redis.sadd(keys.workers, "a-pinned");
    await conn.redis.set(keys.alive("a-pinned"), "x", "EX", 60);
    await conn.redis.sunionstore(keys.layers("a-pinned"), keys.layers("wb"));
    const seen: string[] = [];
    const result = await submitBuild({
      url: redis.url,
      spec,
      specText: text,
      specFile: "build.spec",
      contextDir: ctx.dir,
      spillAfterMs: 1000,
      onEvent: () => {},
      onSubmitEvent: (e) =>
        seen.push(
          e.type === "queued"
            ? `queued:${e.queue}`
            : e.type === "spilled"
              ? `spilled:${e.reason}`
              : e.type,
        ),
    });
    expect(seen).toEqual(["queued:worker-a-pinned", "spilled:waited", "attempt"]);
    expect(result.worker).toBe("wb");
    await conn.redis.del(keys.alive("a-pinned"));
    await new QueueSet(conn.redis)[Symbol.asyncDispose]();
    void worker;
  });
});
