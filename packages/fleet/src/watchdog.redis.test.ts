import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FleetJobAbortedError } from "./errors.js";
import { submitBuild } from "./submit.js";
import {
  createTestStore,
  holdBaseBuild,
  startRedis,
  type TestRedis,
  type TestStore,
  testContext,
  testSpec,
} from "./testing.js";
import { FleetWorker, type WorkerEvent } from "./worker.js";

describe("the watchdog", () => {
  let redis: TestRedis;
  let a: TestStore;
  const ctx = testContext();
  beforeAll(async () => {
    redis = await startRedis();
    a = await createTestStore();
  }, 60_000);
  afterAll(async () => {
    // Redis first: it stops at once, so a store that is slow to close never leaves it running.
    await redis?.[Symbol.asyncDispose]();
    ctx.remove();
    await a?.[Symbol.asyncDispose]();
  }, 60_000);

  it("stops a build that makes no progress, retries it once, then fails it", async () => {
    // The base layer's build hangs (held by this test), so the job's build waits without a word.
    const held = await holdBaseBuild(a.store);
    const events: WorkerEvent[] = [];
    await using worker = await FleetWorker.start({
      url: redis.url,
      store: a.store,
      name: "wd",
      heartbeatMs: 300,
      onEvent: (e) => events.push(e),
    });
    const { spec, text } = testSpec("echo never");
    const warnings: string[] = [];
    const run = submitBuild({
      url: redis.url,
      spec,
      specText: text,
      specFile: "build.spec",
      contextDir: ctx.dir,
      watchdogMs: 1500,
      onEvent: (e) => {
        if (e.type === "warning") warnings.push(e.message);
      },
    });
    await expect(run).rejects.toSatisfy(
      (e) => e instanceof FleetJobAbortedError && e.code === "FLEET_WATCHDOG",
    );
    expect(warnings.some((w) => /no output and no progress.*retrying/s.test(w))).toBe(true);
    expect(
      events.filter((e) => e.type === "job-start").map((e) => e.type === "job-start" && e.attempt),
    ).toEqual([1, 2]);
    await held.release();
    void worker;
  });
});
