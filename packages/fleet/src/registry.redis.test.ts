// Layers move between workers through the registry: a job whose layers were built on another
// worker (store A, pushed) runs on worker B, whose store has only the base image. B pulls the
// chain instead of building it (no VM could boot the test's blank base image), replays the
// saved output, and pushes nothing new. Real Redis, real docker-registry.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pushLayers } from "@strata/layer-transfer";
import { RegistryClient } from "@strata/registry";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { parseSpecOrThrow } from "@strata/spec-parser";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchContext, packContext } from "./context.js";
import { keys } from "./keys.js";
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
  let client: RegistryClient;
  let a: TestStore;
  let b: TestStore;
  const ctx = testContext();
  beforeAll(async () => {
    redis = await startRedis();
    registry = await startTestRegistry();
    client = new RegistryClient({
      registry: registry.registry,
      credentials: async () => undefined,
    });
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
    const pulls = got.events.flatMap((e) => (e.type === "transfer" ? [e] : []));
    expect(pulls.map((e) => e.direction)).toContain("pull");
    for (const e of pulls) expect(chain).toContain(e.id);
    expect(b.store.lookup(chain.at(-1)!)?.parent).toBe(a.store.lookup(chain.at(-1)!)?.parent);
  });

  it("sends a context over the Redis limit through the registry, and reads it only from its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "strata-fleet-bigctx-"));
    try {
      writeFileSync(join(dir, "big.bin"), randomBytes(256 * 1024));
      const text = `((from ${BASE})\n (copy (src big.bin) (dst /big.bin)))\n`;
      const spec = parseSpecOrThrow(text, { file: "build.spec" });
      // The copy step's layer ID hashes big.bin: the worker finds it cached only if the context
      // it unpacked is byte for byte the one submitted.
      const chain = await seedLayers(b.store, spec, dir);
      const fleetRegistry = { client, repository: "fleet" };
      await using worker = await FleetWorker.start({
        url: redis.url,
        store: b.store,
        name: "wctx",
        heartbeatMs: 300,
        registry: fleetRegistry,
      });
      const result = await submitBuild({
        url: redis.url,
        spec,
        specText: text,
        specFile: "build.spec",
        contextDir: dir,
        registry: fleetRegistry,
        contextLimitBytes: 64 * 1024,
        deadlineMs: 30_000,
        onEvent: () => {},
      });
      expect(result.worker).toBe(worker.name);
      expect(result.layer).toBe(chain.at(-1));
      const packed = await packContext(dir);
      const digest = `sha256:${createHash("sha256").update(packed).digest("hex")}`;
      expect(await client.hasBlob("fleet", digest)).toBe(packed.length);
      const r = new Redis(redis.url.href);
      const out = mkdtempSync(join(tmpdir(), "strata-fleet-ctx-out-"));
      try {
        expect(await r.exists(keys.context(digest.slice("sha256:".length)))).toBe(0);
        // A job naming another registry is refused before any request leaves the worker.
        const elsewhere = {
          kind: "registry" as const,
          ref: "registry.example:443/fleet",
          digest,
          bytes: packed.length,
        };
        await expect(
          fetchContext(r, elsewhere, out, { registry: fleetRegistry }),
        ).rejects.toMatchObject({
          code: "FLEET_CONTEXT_UNAVAILABLE",
          message: expect.stringContaining("not in this worker's"),
        });
        await expect(
          fetchContext(r, { ...elsewhere, ref: `${registry.registry}/fleet` }, out),
        ).rejects.toMatchObject({
          code: "FLEET_CONTEXT_UNAVAILABLE",
          message: expect.stringContaining("no --registry"),
        });
      } finally {
        r.disconnect();
        rmSync(out, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
