import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LayerInUseError } from "./errors.js";
import { openStore, type Store } from "./store.js";
import { createBaseImage, hasPattern, layerId, tempDir, writePattern } from "./test-support.js";

const MiB = 1024 * 1024;
let dir: ReturnType<typeof tempDir>;
let store: Store;

beforeEach(async () => {
  dir = tempDir();
  await createBaseImage(dir.path);
  store = await openStore({ root: dir.path });
});
afterEach(() => {
  store.close();
  dir.remove();
});

/** A chain of three layers; layer i writes pattern i+1 at i MiB. */
async function buildChain(): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = layerId(`step-${i}`);
    await store.build(
      id,
      { ...(i === 0 ? { base: "test-base" } : { parent: ids[i - 1]! }), description: `${i}` },
      (layer) => writePattern(layer.image, i + 1, i * MiB, MiB),
    );
    ids.push(id);
  }
  return ids;
}

function rebuildMiddle(ids: string[], fn: Parameters<Store["build"]>[2]) {
  return store.build(ids[1]!, { parent: ids[0]!, description: "1 again", rebuild: true }, fn);
}

describe("build with rebuild", () => {
  it("runs the step again under the same ID and drops the layers built on the old one", async () => {
    const ids = await buildChain();
    let ran = false;
    const result = await rebuildMiddle(ids, async (layer) => {
      ran = true;
      // The old layer is still whole while the new one is built.
      expect(store.lookup(ids[1]!)?.description).toBe("1");
      expect(existsSync(store.layerImage(ids[2]!))).toBe(true);
      await writePattern(layer.image, 9, MiB, MiB);
    });
    expect(ran).toBe(true);
    expect(result).toEqual({ id: ids[1], cached: false, shared: false });
    expect(store.lookup(ids[1]!)).toMatchObject({ description: "1 again", children: 0 });
    expect(await hasPattern(store.layerImage(ids[1]!), 9, MiB, MiB)).toBe(true);
    expect(await hasPattern(store.layerImage(ids[1]!), 1, 0, MiB)).toBe(true);
    // The child was an overlay over the old bytes: it is gone, row and directory.
    expect(store.lookup(ids[2]!)).toBeUndefined();
    expect(existsSync(store.layerDir(ids[2]!))).toBe(false);
    expect(store.lookup(ids[0]!)).toMatchObject({ children: 1 });
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
    expect(store.list().map((l) => l.id)).toEqual([ids[0], ids[1]]);
  });

  it("keeps the old layer and its children when the rebuild fails", async () => {
    const ids = await buildChain();
    await expect(
      rebuildMiddle(ids, async (layer) => {
        await writePattern(layer.image, 9, MiB, MiB);
        throw new Error("step failed");
      }),
    ).rejects.toThrow();
    expect(store.lookup(ids[1]!)).toMatchObject({ description: "1", children: 1 });
    expect(await hasPattern(store.layerImage(ids[2]!), 2, MiB, MiB)).toBe(true);
    expect(await hasPattern(store.layerImage(ids[2]!), 3, 2 * MiB, MiB)).toBe(true);
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
  });

  it("refuses before running the step while a layer built on the old one is held", async () => {
    const ids = await buildChain();
    const lease = store.pin(ids[2]!);
    let ran = false;
    await expect(
      rebuildMiddle(ids, async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ code: "LAYER_IN_USE", id: ids[2] });
    expect(ran).toBe(false);
    lease.release();
    expect(store.lookup(ids[2]!)).toBeDefined();
  });

  it("refuses at the commit when the old layer was taken during the rebuild", async () => {
    const ids = await buildChain();
    let lease: ReturnType<Store["pin"]> | undefined;
    await expect(
      rebuildMiddle(ids, async (layer) => {
        lease = store.pin(ids[1]!);
        await writePattern(layer.image, 9, MiB, MiB);
      }),
    ).rejects.toBeInstanceOf(LayerInUseError);
    lease?.release();
    expect(await hasPattern(store.layerImage(ids[1]!), 2, MiB, MiB)).toBe(true);
    expect(store.lookup(ids[2]!)).toMatchObject({ parent: ids[1] });
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
  });

  it("commits when the old layer was removed during the rebuild", async () => {
    const ids = await buildChain();
    await rebuildMiddle(ids, async (layer) => {
      await store.delete(ids[1]!);
      await writePattern(layer.image, 9, MiB, MiB);
    });
    expect(store.lookup(ids[1]!)).toMatchObject({ description: "1 again" });
    expect(await hasPattern(store.layerImage(ids[1]!), 9, MiB, MiB)).toBe(true);
    expect(store.lookup(ids[2]!)).toBeUndefined();
  });

  it("builds a missing layer as usual", async () => {
    const id = layerId("fresh");
    const result = await store.build(
      id,
      { base: "test-base", description: "fresh", rebuild: true },
      (layer) => writePattern(layer.image, 5, 0, MiB),
    );
    expect(result.cached).toBe(false);
    expect(await hasPattern(store.layerImage(id), 5, 0, MiB)).toBe(true);
  });
});
