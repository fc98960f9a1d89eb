// The build's registry link against a real docker-registry and real stores (qemu-img layers,
// no VM): a built layer is pushed, a missing one pulled, and a stopped registry is a warning.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryClient } from "@strata/registry";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { openStore, type Store } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildEvent } from "./events.js";
import { RegistryLink } from "./registry-link.js";

const hex = (label: string) => createHash("sha256").update(label).digest("hex");

async function storeWithBase(root: string): Promise<Store> {
  const store = await openStore({ root });
  execFileSync("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    join(root, "base-image", "base.qcow2"),
    "64M",
  ]);
  return store;
}

describe("RegistryLink", () => {
  let registry: TestRegistry;
  let dir: string;
  let a: Store;
  let b: Store;
  const ids = [hex("link-0"), hex("link-1")];

  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = await mkdtemp(join(tmpdir(), "strata-link-"));
    a = await storeWithBase(join(dir, "a"));
    b = await storeWithBase(join(dir, "b"));
    await a.build(ids[0]!, { base: "base", description: "first" }, async () => {});
    await a.build(ids[1]!, { parent: ids[0]!, description: "second" }, async (layer) => {
      layer.log("step output\n");
      execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 7 0 1M", layer.image]);
    });
  }, 120_000);
  afterAll(async () => {
    a?.close();
    b?.close();
    await registry?.[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  const link = (store: Store, events: BuildEvent[], mode?: "pull" | "push" | "both") =>
    new RegistryLink(
      {
        client: new RegistryClient({
          registry: registry.registry,
          credentials: async () => undefined,
          retries: 0,
        }),
        repository: "cache",
        ...(mode ? { mode } : {}),
      },
      store,
      (e) => events.push(e),
    );

  it("pushes a built layer's chain, and pulls it into a store that lacks it", async () => {
    const events: BuildEvent[] = [];
    await link(a, events).push(ids[1]!);
    await b.build(ids[0]!, { base: "base", description: "first" }, async () => {});
    await link(b, events).pull(ids[1]!);
    expect(b.lookup(ids[1]!)?.description).toBe("second");
    const logs: Buffer[] = [];
    const hit = await b.build(
      ids[1]!,
      { parent: ids[0]!, description: "second", onLog: (c) => logs.push(c) },
      async () => {
        throw new Error("must be a cache hit");
      },
    );
    expect(hit.cached).toBe(true);
    expect(Buffer.concat(logs).toString()).toBe("step output\n");
    expect(events.filter((e) => e.type === "warning")).toEqual([]);
  });

  it("treats an absent layer as a quiet miss and respects the mode", async () => {
    const events: BuildEvent[] = [];
    await link(b, events).pull(hex("never-built"));
    expect(events).toEqual([]);
    const pushOnly: BuildEvent[] = [];
    const c = await storeWithBase(join(dir, "c"));
    try {
      await c.build(ids[0]!, { base: "base", description: "first" }, async () => {});
      await link(c, pushOnly, "push").pull(ids[1]!);
      expect(c.lookup(ids[1]!)).toBeUndefined();
    } finally {
      c.close();
    }
  });

  it("turns a stopped registry into one warning and goes on without it", async () => {
    const events: BuildEvent[] = [];
    const id = hex("while-down");
    await a.build(id, { parent: ids[1]!, description: "third" }, async () => {});
    const l = link(a, events);
    await registry.stop();
    try {
      await l.push(id);
      await l.pull(hex("another"));
      await l.push(id);
    } finally {
      await registry.start();
    }
    const warnings = events.filter((e) => e.type === "warning");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.type === "warning" && warnings[0].message).toMatch(
      /^registry: pushing layer .*without the registry\.$/,
    );
  });
});
