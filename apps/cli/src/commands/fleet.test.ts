import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { FleetWorker } from "@strata/fleet";
import {
  createTestStore,
  seedLayers,
  startRedis,
  type TestRedis,
  type TestStore,
  testContext,
  testSpec,
} from "@strata/fleet/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../main.js";

describe("strata build --queue, strata worker's fleet and strata fleet, on a real Redis", () => {
  let redis: TestRedis;
  let store: TestStore;
  let worker: FleetWorker;
  const ctx = testContext();
  const { spec, text } = testSpec("echo cli");
  let chain: string[];
  beforeAll(async () => {
    redis = await startRedis({ password: "pw" });
    store = await createTestStore();
    chain = await seedLayers(store.store, spec, ctx.dir);
    writeFileSync(join(ctx.dir, "build.spec"), text);
    writeFileSync(
      join(ctx.dir, "secret.spec"),
      '((from tiny) (run (secrets (token (target /run/token))) (shell "cat /run/token")))\n',
    );
    worker = await FleetWorker.start({
      url: redis.url,
      store: store.store,
      name: "cli-w",
      heartbeatMs: 300,
    });
  }, 60_000);
  afterAll(async () => {
    await worker?.[Symbol.asyncDispose]();
    await store?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
    ctx.remove();
  }, 60_000);

  it("streams a remote build like a local one (--json too) and lists it", async () => {
    const q = redis.url.href;
    const json = captureIo(ctx.dir);
    expect(await main(["build", "--queue", q, "-f", "build.spec", "--json", "."], json.io)).toBe(0);
    const lines = json
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type !== "fleet").map((l) => l.type)).toEqual([
      "step",
      "cached",
      "step",
      "output",
      "cached",
      "done",
    ]);
    expect(lines.at(-1)).toMatchObject({ type: "done", id: chain.at(-1) });
    expect(lines).toContainEqual({
      type: "fleet",
      event: { type: "attempt", worker: "cli-w", attempt: 1 },
    });

    const plain = captureIo(ctx.dir);
    expect(await main(["build", "--queue", q, "-f", "build.spec", "."], plain.io)).toBe(0);
    expect(plain.stdout()).toContain(`---> using "${chain.at(-1)}" from cache`);
    expect(plain.stdout()).toContain(`Got: "${chain.at(-1)}"`);
    expect(plain.stderr()).toContain('running on worker "cli-w"');

    const ls = captureIo(ctx.dir);
    expect(await main(["fleet", "ls", "--queue", q], ls.io)).toBe(0);
    expect(ls.stdout()).toMatch(
      /^NAME\s+POOL\s+STATE\s+RUNNING\s+LOAD\s+FREE DISK\s+LAYERS\s+LAST SEEN/,
    );
    expect(ls.stdout()).toMatch(
      /cli-w\s+default\s+active\s+0\/1\s+0\.00\s+[\d.]+ \S+\s+2\s+\d+s ago/,
    );

    const jobs = captureIo(ctx.dir);
    expect(await main(["fleet", "jobs", "--queue", q, "--json"], jobs.io)).toBe(0);
    const records = jobs
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records).toHaveLength(2);
    expect(records.every((r) => r.state === "done" && r.worker === "cli-w")).toBe(true);

    const logs = captureIo(ctx.dir);
    expect(await main(["fleet", "logs", "--queue", q, records[0].id], logs.io)).toBe(0);
    expect(logs.stdout()).toContain(`Got: "${chain.at(-1)}"`);
  });

  it("exits as a local build would with the worker's error, and checks flags first", async () => {
    const q = redis.url.href;
    const missing = captureIo(ctx.dir);
    expect(await main(["build", "--queue", q, "-f", "secret.spec", "."], missing.io)).toBe(2);
    expect(missing.stderr()).toContain('worker "cli-w" does not hold secret(s) token');

    const secret = captureIo(ctx.dir);
    expect(
      await main(
        ["build", "--queue", q, "--secret", "token:/x", "-f", "secret.spec", "."],
        secret.io,
      ),
    ).toBe(2);
    expect(secret.stderr()).toContain("workers hold secrets");

    // --registry names where a large context travels; the workers' own registry settings apply.
    const states = captureIo(ctx.dir);
    expect(
      await main(
        [
          "build",
          "--queue",
          q,
          "--registry",
          "127.0.0.1:1/x",
          "--registry-states",
          "-f",
          "build.spec",
          ".",
        ],
        states.io,
      ),
    ).toBe(2);
    expect(states.stderr()).toContain('option "--registry-states" cannot go with "--queue"');

    const unknown = captureIo(ctx.dir);
    expect(await main(["fleet", "pause", "--queue", q, "nobody"], unknown.io)).toBe(2);
    expect(unknown.stderr()).toContain('no worker named "nobody"');

    const bad = captureIo(ctx.dir);
    expect(await main(["fleet", "ls", "--queue", "http://x"], bad.io)).toBe(2);
    const down = captureIo(ctx.dir);
    const wrong = new URL(q);
    wrong.password = "nope";
    expect(await main(["fleet", "ls", "--queue", wrong.href], down.io)).toBe(3);
    expect(down.stderr()).toMatch(/password/);
  });
});
