// Layers move between workers through the registry: a job whose layers were built on another
// worker (store A, pushed) runs on worker B, whose store has only the base image. B pulls the
// chain instead of building it (no VM could boot the test's blank base image), replays the
// saved output, and pushes nothing new. Real Redis, real docker-registry.
import { utimesSync } from "node:fs";
import { join } from "node:path";
import { pushLayers } from "@strata/layer-transfer";
import { RegistryClient } from "@strata/registry";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitBuild } from "./submit.js";
import {
  BASE,
  collect,
  createTestStore,
  seedLayers,
  startRedis,
  type TestRedis,
  type TestStore,
  testContext,
  testSpec,
} from "./testing.js";
import { FleetWorker } from "./worker.js";

describe("a worker with --registry", () => {
  let redis: TestRedis;
  let registry: TestRegistry;
  let a: TestStore;
  let b: TestStore;
  const ctx = testContext();
  beforeAll(async () => {
    redis = await startRedis();
    registry = await startTestRegistry();
    a = await createTestStore();
    b = await createTestStore();
    // The same base image on both hosts: a base image's identity is its qcow2's size and mtime.
    const image = (s: TestStore) => join(s.root, "base-image", `${BASE}.qcow2`);
    const t = Math.floor(Date.now() / 1000);
    for (const s of [a, b]) utimesSync(image(s), t, t);
  }, 120_000);
  afterAll(async () => {
    await redis?.[Symbol.asyncDispose]();
    await registry?.[Symbol.asyncDispose]();
    ctx.remove();
    await a?.[Symbol.asyncDispose]();
    await b?.[Symbol.asyncDispose]();
  }, 120_000);

  it("pulls a chain built on another worker instead of building it", async () => {
    const { spec, text } = testSpec("echo from-a");
    const chain = await seedLayers(a.store, spec, ctx.dir);
    const client = new RegistryClient({
      registry: registry.registry,
      credentials: async () => undefined,
    });
    await pushLayers(a.store, client, "fleet", chain.at(-1)!);
    expect(b.store.lookup(chain.at(-1)!)).toBeUndefined();

    await using worker = await FleetWorker.start({
      url: redis.url,
      store: b.store,
      name: "wb",
      heartbeatMs: 300,
      registry: { client, repository: "fleet" },
    });
    const got = collect();
    const result = await submitBuild({
      url: redis.url,
      spec,
      specText: text,
      specFile: "build.spec",
      contextDir: ctx.dir,
      // Without the pull the worker would try to boot the blank test image: fail fast instead.
      deadlineMs: 30_000,
      onEvent: got.onEvent,
    });
    expect(result.worker).toBe(worker.name);
    expect(result.layer).toBe(chain.at(-1));
    expect(got.events.filter((e) => e.type === "cached").map((e) => e.id)).toContain(chain.at(-1));
    const output = got.events.find((e) => e.type === "output");
    expect(output?.type === "output" && output.chunk.toString()).toContain("output of");
    expect(got.events).toContainEqual(
      expect.objectContaining({
        type: "info",
        message: expect.stringContaining("registry: pulled"),
      }),
    );
    expect(b.store.lookup(chain.at(-1)!)?.parent).toBe(a.store.lookup(chain.at(-1)!)?.parent);
  });
});
