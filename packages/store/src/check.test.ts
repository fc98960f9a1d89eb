import { existsSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "./store.js";
import { createBaseImage, layerId, tempDir, writePattern } from "./test-support.js";

let dir: ReturnType<typeof tempDir>;
let store: Store;
const ids = [0, 1, 2].map((i) => layerId(`check-${i}`));

beforeEach(async () => {
  dir = tempDir();
  await createBaseImage(dir.path);
  store = await openStore({ root: dir.path });
  for (const [i, id] of ids.entries()) {
    await store.build(
      id,
      { ...(i === 0 ? { base: "test-base" } : { parent: ids[i - 1]! }), description: `s${i}` },
      async (layer) => {
        layer.log(`step ${i}\n`);
        await writePattern(layer.image, i + 1, 0, 65536);
      },
    );
  }
});
afterEach(() => {
  store.close();
  dir.remove();
});

describe("start-up reconciliation", () => {
  it("adopts a layer renamed into result/ just before a crash, drops rows whose directory is gone", async () => {
    store.close();
    // Simulate a crash between the rename and the database commit: the row is missing.
    const db = new Database(join(dir.path, "state", "store.db"));
    db.prepare("DELETE FROM layers WHERE id = ?").run(ids[2]);
    // And a row whose directory vanished behind the store's back.
    db.prepare(
      "INSERT INTO layers (id, parent, base, description, created, last_used, children, bytes, depth) VALUES (?, NULL, 'test-base', 'ghost', 0, 0, 0, 0, 1)",
    ).run(layerId("ghost"));
    db.close();
    store = await openStore({ root: dir.path });
    expect(store.recovery.adoptedDirs).toEqual([ids[2]]);
    expect(store.recovery.droppedRows).toEqual([layerId("ghost")]);
    expect(store.lookup(ids[2]!)).toMatchObject({ parent: ids[1], description: "s2" });
    expect(store.lookup(ids[1]!)!.children).toBe(1);
  });
});

describe("store check", () => {
  it("reports nothing on a sound store", async () => {
    expect(await store.check()).toEqual({ layersChecked: 3, problems: [] });
  });

  it("finds a corrupt image and repairs by removing the layer and what is built on it", async () => {
    writeFileSync(store.layerImage(ids[1]!), "not a qcow2 image");
    const report = await store.check();
    // The layer built on it cannot be opened either, since qemu opens the whole chain.
    expect(report.problems.map((p) => [p.id, p.kind])).toEqual([
      [ids[1], "broken-chain"],
      [ids[2], "corrupt-image"],
    ]);
    expect(report.problems[0]!.repaired).toBe(false);
    const repaired = await store.check({ repair: true });
    expect(repaired.problems[0]!.repaired).toBe(true);
    expect(store.list().map((layer) => layer.id)).toEqual([ids[0]]);
    expect(existsSync(store.layerDir(ids[2]!))).toBe(false);
    expect(await store.check()).toEqual({ layersChecked: 1, problems: [] });
  });

  it("finds missing files and unknown directories", async () => {
    unlinkSync(store.layerLog(ids[2]!));
    writeFileSync(join(dir.path, "result", "junk"), "");
    const report = await store.check({ repair: true });
    expect(report.problems.map((p) => p.kind).sort()).toEqual(["missing-file", "unknown-dir"]);
    expect(existsSync(join(dir.path, "result", "junk"))).toBe(false);
    expect(store.list()).toHaveLength(2);
  });
});

describe("remeasure", () => {
  it("records the size of files added beside a finished layer, so check stays quiet", async () => {
    const before = store.lookup(ids[1]!)!.bytes;
    writeFileSync(join(store.layerDir(ids[1]!), "vmstate.zst"), Buffer.alloc(4 * 1024 * 1024, 7));
    expect((await store.check()).problems.map((p) => p.kind)).toEqual(["wrong-size"]);
    const after = await store.remeasure(ids[1]!);
    expect(after).toBeGreaterThanOrEqual(before + 4 * 1024 * 1024);
    expect(store.lookup(ids[1]!)!.bytes).toBe(after);
    expect(await store.check()).toEqual({ layersChecked: 3, problems: [] });
  });
});

describe("disposal", () => {
  it("waits for a cancelled step's clean-up, leaving no result-tmp behind", async () => {
    const controller = new AbortController();
    let cleaned = false;
    const id = layerId("cancelled");
    const started = new Promise<void>((resolve) => {
      void store
        .build(
          id,
          { parent: ids[2]!, description: "slow", signal: controller.signal },
          async (layer) => {
            resolve();
            await new Promise((r) => layer.signal.addEventListener("abort", r, { once: true }));
            // Stopping a VM takes a while: disposal must wait for it.
            await new Promise((r) => setTimeout(r, 300));
            cleaned = true;
            throw layer.signal.reason;
          },
        )
        .catch(() => {});
    });
    await started;
    controller.abort();
    await store[Symbol.asyncDispose]();
    expect(cleaned).toBe(true);
    expect(readdirSync(join(dir.path, "result-tmp")).filter((f) => !f.startsWith("."))).toEqual([]);
  });
});
