import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BaseImageMissingError,
  InvalidLayerIdError,
  LayerInUseError,
  StepCancelledError,
  StepFailedError,
} from "./errors.js";
import { createOverlay, readBackingChain } from "./qemu-img.js";
import { openStore, type Store } from "./store.js";
import { createBaseImage, hasPattern, layerId, tempDir, writePattern } from "./test-support.js";

const MiB = 1024 * 1024;
let dir: ReturnType<typeof tempDir>;
let store: Store;

beforeEach(async () => {
  dir = tempDir();
  await createBaseImage(dir.path);
  store = await openStore({ root: dir.path, maxChainDepth: 3 });
});
afterEach(() => {
  store.close();
  dir.remove();
});

/** Builds a chain of `n` layers, layer i writing pattern i+1 at i MiB. */
async function buildChain(n: number, prefix = "step"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = layerId(`${prefix}-${i}`);
    const result = await store.build(
      id,
      {
        ...(i === 0 ? { base: "test-base" } : { parent: ids[i - 1]! }),
        description: `${prefix} ${i}`,
      },
      async (layer) => {
        layer.log(`writing ${i}\n`);
        await writePattern(layer.image, i + 1, i * MiB, MiB);
      },
    );
    expect(result).toEqual({ id, cached: false, shared: false });
    ids.push(id);
  }
  return ids;
}

describe("build", () => {
  it("commits a chain of overlays with relative backing files and replays logs", async () => {
    const ids = await buildChain(3);
    const top = store.layerImage(ids[2]!);
    const chain = await readBackingChain(top);
    expect(chain.map((image) => image.backingFilename)).toEqual([
      `../../../result/${ids[1]}/rootfs/image.qcow2`,
      `../../../result/${ids[0]}/rootfs/image.qcow2`,
      "../../../base-image/test-base.qcow2",
      undefined,
    ]);
    for (let i = 0; i < 3; i++) expect(await hasPattern(top, i + 1, i * MiB, MiB)).toBe(true);
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
    const info = store.lookup(ids[0]!)!;
    expect(info).toMatchObject({ children: 1, depth: 1, base: "test-base", description: "step 0" });
    expect(info.bytes).toBeGreaterThan(MiB);

    const seen: Buffer[] = [];
    let ran = false;
    const again = await store.build(
      ids[1]!,
      { parent: ids[0]!, description: "step 1", onLog: (chunk) => seen.push(chunk) },
      async () => {
        ran = true;
      },
    );
    expect(again).toEqual({ id: ids[1], cached: true, shared: false });
    expect(ran).toBe(false);
    expect(Buffer.concat(seen).toString()).toBe("writing 1\n");
  });

  it("writes a layer past the depth limit flattened, with the same contents", async () => {
    const ids = await buildChain(5);
    expect(store.list().map((layer) => layer.depth)).toEqual([1, 2, 3, 0, 1]);
    const flat = await readBackingChain(store.layerImage(ids[3]!));
    expect(flat).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      expect(await hasPattern(store.layerImage(ids[4]!), i + 1, i * MiB, MiB)).toBe(true);
    }
  });

  it("with provideImage, makes no overlay: the step writes the image the backing names", async () => {
    const [first] = await buildChain(1);
    const id = layerId("provided");
    const seen: { exists: boolean; backing: unknown }[] = [];
    await store.build(
      id,
      { parent: first!, description: "pulled", provideImage: true },
      async (layer) => {
        seen.push({ exists: existsSync(layer.image), backing: layer.backing });
        // What a pull does: an overlay made elsewhere (as deep in the store) with the backing
        // the store asks for, then renamed in.
        const made = join(dir.path, "download", "x", "y", "made.qcow2");
        mkdirSync(dirname(made), { recursive: true });
        await createOverlay(made, layer.backing!.file, layer.backing!.format, {});
        renameSync(made, layer.image);
      },
    );
    expect(seen).toEqual([
      {
        exists: false,
        backing: { file: `../../../result/${first}/rootfs/image.qcow2`, format: "qcow2" },
      },
    ]);
    const chain = await readBackingChain(store.layerImage(id));
    expect(chain).toHaveLength(3);
    expect(await hasPattern(store.layerImage(id), 1, 0, MiB)).toBe(true);
    // A first layer is told its base image's name and format.
    const onBase = store.build(
      layerId("provided-on-base"),
      { base: "test-base", description: "pulled", provideImage: true },
      async (layer) => {
        expect(layer.backing).toEqual({
          file: "../../../base-image/test-base.qcow2",
          format: "qcow2",
        });
      },
    );
    // ...and a step that writes no image fails, leaving nothing.
    await expect(onBase).rejects.toMatchObject({ code: "STORE_OPTIONS" });
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
    expect(store.lookup(layerId("provided-on-base"))).toBeUndefined();
  });

  it("with provideImage past maxChainDepth, gives no backing: the store wants a standalone image", async () => {
    const ids = await buildChain(3);
    let backing: unknown = "unset";
    await expect(
      store.build(
        layerId("too-deep"),
        { parent: ids[2]!, description: "pulled", provideImage: true },
        async (layer) => {
          backing = layer.backing;
          throw new Error("refused");
        },
      ),
    ).rejects.toThrow("refused");
    expect(backing).toBeUndefined();
  });

  it("leaves nothing behind when the step fails, and a later call retries", async () => {
    const id = layerId("failing");
    const failure = store.build(id, { base: "test-base", description: "x" }, async (layer) => {
      await writePattern(layer.image, 9, 0, MiB);
      expect(existsSync(join(dir.path, "result-tmp", id, "rootfs", "image.qcow2"))).toBe(true);
      throw new Error("exit code 2");
    });
    await expect(failure).rejects.toThrow("exit code 2");
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
    expect(existsSync(join(dir.path, "result", id))).toBe(false);
    expect(store.lookup(id)).toBeUndefined();
    const retry = await store.build(id, { base: "test-base", description: "x" }, async () => {});
    expect(retry.cached).toBe(false);
  });

  it("shares one run between concurrent calls; one client cancelling does not stop it", async () => {
    const id = layerId("shared");
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const logs: string[] = ["", "", ""];
    const cancel = new AbortController();
    const step = async (layer: { log: (chunk: string) => void }) => {
      runs++;
      layer.log("first\n");
      await gate;
      layer.log("second\n");
    };
    const call = (i: number, signal?: AbortSignal) =>
      store.build(
        id,
        {
          base: "test-base",
          description: "s",
          onLog: (c) => {
            logs[i] = `${logs[i] ?? ""}${c}`;
          },
          ...(signal ? { signal } : {}),
        },
        step,
      );
    const a = call(0);
    await new Promise((resolve) => setImmediate(resolve));
    const b = call(1, cancel.signal);
    const c = call(2);
    cancel.abort();
    await expect(b).rejects.toBeInstanceOf(StepCancelledError);
    release();
    expect(await a).toEqual({ id, cached: false, shared: false });
    expect(await c).toEqual({ id, cached: false, shared: true });
    expect(runs).toBe(1);
    expect(logs[0]).toBe("first\nsecond\n");
    expect(logs[2]).toBe("first\nsecond\n");
  });

  it("gives joiners of a failed run a StepFailedError, the starter the original error", async () => {
    const id = layerId("shared-failure");
    let fail!: () => void;
    const gate = new Promise<void>((resolve) => {
      fail = resolve;
    });
    const step = async () => {
      await gate;
      throw new Error("exit code 7");
    };
    const first = store.build(id, { base: "test-base", description: "f" }, step);
    await new Promise((resolve) => setImmediate(resolve));
    const second = store.build(id, { base: "test-base", description: "f" }, step);
    fail();
    await expect(first).rejects.toThrow(/^exit code 7$/);
    await expect(second).rejects.toBeInstanceOf(StepFailedError);
    await expect(second).rejects.toThrow(/exit code 7/);
  });

  it("cancels the step when its last client cancels", async () => {
    const id = layerId("cancelled");
    const cancel = new AbortController();
    let stepSignal: AbortSignal | undefined;
    const run = store.build(
      id,
      { base: "test-base", description: "c", signal: cancel.signal },
      async (layer) => {
        stepSignal = layer.signal;
        await new Promise((_, reject) =>
          layer.signal.addEventListener("abort", () => reject(layer.signal.reason)),
        );
      },
    );
    while (!stepSignal) await new Promise((resolve) => setTimeout(resolve, 5));
    cancel.abort();
    await expect(run).rejects.toBeInstanceOf(StepCancelledError);
    expect(stepSignal.aborted).toBe(true);
    await expect.poll(() => readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
  });

  it("rejects bad input before any side effect", async () => {
    await expect(
      store.build("abc", { base: "test-base", description: "" }, async () => {}),
    ).rejects.toBeInstanceOf(InvalidLayerIdError);
    const missing = store.build(
      layerId("m"),
      { base: "debian-bookworm", description: "" },
      async () => {},
    );
    await expect(missing).rejects.toBeInstanceOf(BaseImageMissingError);
    await expect(missing).rejects.toThrow(/strata-image build debian-bookworm --store/);
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
  });
});

describe("delete and prune", () => {
  it("deletes a layer with everything built on it", async () => {
    const ids = await buildChain(3);
    const side = layerId("side");
    await store.build(side, { parent: ids[0]!, description: "side" }, async () => {});
    expect(store.lookup(ids[0]!)!.children).toBe(2);
    const report = await store.delete(ids[1]!);
    expect(report.removed).toEqual([ids[2], ids[1]]);
    expect(
      store
        .list()
        .map((layer) => layer.id)
        .sort(),
    ).toEqual([ids[0], side].sort());
    expect(store.lookup(ids[0]!)!.children).toBe(1);
    expect(existsSync(store.layerDir(ids[2]!))).toBe(false);
  });

  it("refuses to delete a layer a build holds, and prune skips it", async () => {
    const ids = await buildChain(2);
    using _lease = store.pin(ids[1]!);
    await expect(store.delete(ids[0]!)).rejects.toBeInstanceOf(LayerInUseError);
    expect((await store.prune({ maxSizeBytes: 0 })).removed).toEqual([]);
  });

  it("never removes the parent of a step that is still running", async () => {
    const [parent] = await buildChain(1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const child = store.build(layerId("child"), { parent: parent!, description: "c" }, async () => {
      started();
      await gate;
    });
    await running;
    expect((await store.prune({ maxSizeBytes: 0 })).removed).toEqual([]);
    await expect(store.delete(parent!)).rejects.toBeInstanceOf(LayerInUseError);
    release();
    await child;
    expect((await store.prune({ maxSizeBytes: 0 })).removed).toEqual([layerId("child"), parent]);
  });

  it("prunes least recently used leaves first", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = layerId(`leaf-${i}`);
      await store.build(id, { base: "test-base", description: `leaf ${i}` }, async (layer) => {
        await writePattern(layer.image, 1, 0, MiB);
      });
      ids.push(id);
    }
    await new Promise((resolve) => setTimeout(resolve, 5)); // let the millisecond clock move
    store.lookup(ids[0]!); // now the most recently used
    const size = store.list().reduce((sum, layer) => sum + layer.bytes, 0);
    const report = await store.prune({ maxSizeBytes: size - 1 });
    expect(report.removed).toEqual([ids[1]]);
    const before = await store.prune({ before: new Date(Date.now() + 1000) });
    expect(before.removed).toEqual([ids[2], ids[0]]);
  });
});

describe("relocation", () => {
  it("keeps working after the store is copied elsewhere and the original removed", async () => {
    const ids = await buildChain(4); // includes a flattened layer
    store.close();
    const copy = tempDir();
    try {
      const { execa } = await import("execa");
      await execa("cp", ["-a", `${dir.path}/.`, copy.path]);
      dir.remove();
      store = await openStore({ root: copy.path, maxChainDepth: 3 });
      const top = store.layerImage(ids[3]!);
      const chain = await readBackingChain(top);
      for (const image of chain)
        expect(image.filename.startsWith(copy.path) || !image.filename.startsWith("/")).toBe(true);
      for (let i = 0; i < 4; i++) expect(await hasPattern(top, i + 1, i * MiB, MiB)).toBe(true);
      const next = layerId("after-move");
      await store.build(next, { parent: ids[3]!, description: "moved" }, async () => {});
      expect((await store.check()).problems).toEqual([]);
    } finally {
      copy.remove();
    }
  });
});

describe("store files", () => {
  it("creates the layout, keys/ private, and finds base images with their manifest", async () => {
    for (const sub of [
      "base-image",
      "result",
      "result-tmp",
      "cache",
      "cache-tmp",
      "state",
      "keys",
    ]) {
      expect(existsSync(join(dir.path, sub))).toBe(true);
    }
    const { statSync, writeFileSync } = await import("node:fs");
    expect(statSync(store.keysDir).mode & 0o777).toBe(0o700);
    expect(store.findBaseImage("test-base").manifest).toBeUndefined();
    writeFileSync(join(dir.path, "base-image", "test-base.json"), '{"os":"linux"}');
    expect(store.findBaseImage("test-base")).toMatchObject({ manifest: { os: "linux" } });
    expect(store.cacheDir("opam/archives")).toBe(join(dir.path, "cache", "opam%2Farchives"));
    expect(readFileSync(join(dir.path, "base-image", "test-base.json"), "utf8")).toContain("linux");
  });
});
