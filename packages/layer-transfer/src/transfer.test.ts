// Layers move between two real stores through a real registry (Debian's docker-registry), with
// real qemu-img images; and hostile artifacts are refused with nothing added to the store.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  type Descriptor,
  digestOf,
  embedData,
  encodeManifest,
  OCI_MANIFEST,
  type OciManifest,
  RegistryClient,
} from "@strata/registry";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { openStore, type Store } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArtifactNotFoundError, ArtifactRefusedError } from "./errors.js";
import type { TransferEvent } from "./events.js";
import { pushFileChunks } from "./file-chunks.js";
import {
  ANNOTATION_ANCESTORS,
  DISK_CHUNK,
  LAYER_ARTIFACT,
  LAYER_CONFIG,
  STATE_CHUNK,
  STATE_META,
  STEP_LOG,
} from "./media-types.js";
import { pullLayers } from "./pull-layers.js";
import { pushLayers } from "./push-layers.js";

const exec = promisify(execFile);
const anonymous = async () => undefined;
const hex = (label: string) => digestOf(label).slice(7);

async function newStore(dir: string, name: string, maxChainDepth?: number): Promise<Store> {
  const root = join(dir, name);
  const store = await openStore({ root, ...(maxChainDepth ? { maxChainDepth } : {}) });
  await exec("qemu-img", [
    "create",
    "-q",
    "-f",
    "qcow2",
    join(root, "base-image", "base.qcow2"),
    "64M",
  ]);
  return store;
}

/** Builds a chain of `n` layers on base image "base", each writing a pattern with qemu-io. */
async function buildChain(store: Store, n: number, label: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = hex(`${label}-${i}`);
    await store.build(
      id,
      {
        ...(i === 0 ? { base: "base" } : { parent: ids[i - 1]! }),
        description: `(run (shell "step ${i}"))`,
      },
      async (layer) => {
        layer.log(`output of step ${i}\n`);
        await exec("qemu-io", [
          "-f",
          "qcow2",
          "-c",
          `write -P ${i + 1} ${i * 1024 * 1024} 1M`,
          layer.image,
        ]);
      },
    );
    ids.push(id);
  }
  return ids;
}

async function storeIsClean(store: Store, id: string): Promise<void> {
  expect(store.lookup(id)).toBeUndefined();
  expect(await readdir(join(store.root, "result-tmp"))).toEqual([]);
  expect((await readdir(join(store.root, "result"))).includes(id)).toBe(false);
}

describe("layers through a real registry", () => {
  let registry: TestRegistry;
  let dir: string;
  let a: Store;
  let b: Store;
  let client: RegistryClient;
  let chain: string[];

  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = await mkdtemp(join(tmpdir(), "strata-transfer-"));
    a = await newStore(dir, "a");
    b = await newStore(dir, "b");
    client = new RegistryClient({ registry: registry.registry, credentials: anonymous });
    chain = await buildChain(a, 3, "chain");
  }, 120_000);
  afterAll(async () => {
    a?.close();
    b?.close();
    await registry?.[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("pushes a chain as artifacts tagged by layer ID, then skips it with HEADs only", async () => {
    const events: TransferEvent[] = [];
    const pushed = await pushLayers(a, client, "strata", chain.at(-1)!, {
      onEvent: (e) => events.push(e),
    });
    expect(pushed).toEqual(chain);
    expect((await client.listTags("strata")).sort()).toEqual([...chain].sort());
    const last = events.filter((e) => e.type === "progress").at(-1);
    expect(last).toMatchObject({ type: "progress" });
    expect(last?.type === "progress" && last.done === last.total).toBe(true);
    const manifest = await client.getManifest("strata", chain[1]!);
    expect((manifest.json as OciManifest).artifactType).toBe(LAYER_ARTIFACT);
    // Each manifest names its ancestors, nearest first: a pull asks for them at once.
    const ancestors = async (id: string) =>
      ((await client.getManifest("strata", id)).json as OciManifest).annotations?.[
        ANNOTATION_ANCESTORS
      ];
    expect(await ancestors(chain[2]!)).toBe(`${chain[1]},${chain[0]}`);
    expect(await ancestors(chain[0]!)).toBeUndefined();
    // The config and the log travel inside the manifest too (OCI 1.1 `data`), and as blobs.
    const m = manifest.json as OciManifest;
    const log = m.layers.find((d) => d.mediaType === STEP_LOG)!;
    expect(Buffer.from(log.data!, "base64").toString()).toBe("output of step 1\n");
    expect(JSON.parse(Buffer.from(m.config.data!, "base64").toString()).id).toBe(chain[1]);
    expect(await client.hasBlob("strata", log.digest)).toBe(log.size);
    expect(await client.hasBlob("strata", m.config.digest)).toBe(m.config.size);
    expect(await pushLayers(a, client, "strata", chain.at(-1)!)).toEqual([]);
  });

  it("pulls the chain into another store: same guest data, log replayed, atomically", async () => {
    // `strata clean` stays off download/ while the pull runs (its lease), and only then.
    const heldDuring: string[][] = [];
    const pulled = await pullLayers(b, client, "strata", chain.at(-1)!, {
      onEvent: () => heldDuring.push([...b.leases().keys()]),
    });
    expect(pulled).toEqual(chain);
    expect(heldDuring.length).toBeGreaterThan(0);
    for (const held of heldDuring) expect(held).toEqual(["downloads"]);
    expect(b.leases().size).toBe(0);
    const compare = await exec("qemu-img", [
      "compare",
      "-f",
      "qcow2",
      "-F",
      "qcow2",
      a.layerImage(chain[2]!),
      b.layerImage(chain[2]!),
    ]);
    expect(compare.stdout).toContain("Images are identical");
    const logs: Buffer[] = [];
    const hit = await b.build(
      chain[2]!,
      { parent: chain[1]!, description: "x", onLog: (c) => logs.push(c) },
      async () => {
        throw new Error("must not build");
      },
    );
    expect(hit.cached).toBe(true);
    expect(Buffer.concat(logs).toString()).toBe("output of step 2\n");
    expect(b.lookup(chain[2]!)?.description).toBe('(run (shell "step 2"))');
    expect(await readdir(b.downloadDir)).toEqual([]);
    expect(await pullLayers(b, client, "strata", chain.at(-1)!)).toEqual([]);
  });

  it("carries a saved state only when asked, in uncompressed chunks that arrive whole", async () => {
    await using s = await newStore(dir, "states-a");
    const id = hex("with-state");
    const state = randomBytes(3 * 2 ** 20 + 5);
    const meta = '{"machine":"q35 1024 MiB"}';
    await s.build(id, { base: "base", description: "a step with a state" }, async (layer) => {
      layer.log("x\n");
      await writeFile(join(layer.dir, "vmstate.zst"), state);
      await writeFile(join(layer.dir, "vmstate.json"), meta);
    });
    const files = { state: "vmstate.zst", meta: "vmstate.json" };
    await pushLayers(s, client, "states", id, { states: files, chunkBytes: 2 ** 20 });
    const m = (await client.getManifest("states", id)).json as OciManifest;
    expect(m.layers.filter((d) => d.mediaType === STATE_CHUNK)).toHaveLength(4);
    const metaDescriptor = m.layers.find((d) => d.mediaType === STATE_META)!;
    expect(Buffer.from(metaDescriptor.data!, "base64").toString()).toBe(meta);
    await using without = await newStore(dir, "states-b");
    expect(await pullLayers(without, client, "states", id)).toEqual([id]);
    await expect(stat(join(without.layerDir(id), "vmstate.zst"))).rejects.toThrow(/ENOENT/);
    await using withStates = await newStore(dir, "states-c");
    expect(await pullLayers(withStates, client, "states", id, { states: files })).toEqual([id]);
    expect((await readFile(join(withStates.layerDir(id), "vmstate.zst"))).equals(state)).toBe(true);
    expect(await readFile(join(withStates.layerDir(id), "vmstate.json"), "utf8")).toBe(meta);
    expect(await readdir(withStates.downloadDir)).toEqual([]);
    expect((await withStates.check()).problems).toEqual([]);
  });

  it("says a layer is not in the registry", async () => {
    await expect(pullLayers(b, client, "strata", hex("absent"))).rejects.toThrow(
      ArtifactNotFoundError,
    );
  });

  it("refuses a layer built on another disk of its parent (the same step built on two hosts)", async () => {
    // Store C has the registry's first layer and built the second step itself: same layer
    // ID, other bytes.
    await using c = await newStore(dir, "c");
    await pullLayers(c, client, "strata", chain[0]!);
    await c.build(
      chain[1]!,
      { parent: chain[0]!, description: '(run (shell "step 1"))' },
      (layer) =>
        exec("qemu-io", ["-f", "qcow2", "-c", "write -P 9 0 1M", layer.image]).then(() => {}),
    );
    const error = await pullLayers(c, client, "strata", chain[2]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toMatch(/built on another disk of its parent/);
    await storeIsClean(c, chain[2]!);
    expect(await readdir(c.downloadDir)).toEqual([]);
    // Its own layer is untouched.
    expect(c.lookup(chain[1]!)).toBeDefined();
  });

  /** Pushes `layer` of store A as a hand-made artifact, with parts replaced. */
  async function pushCrafted(
    tag: string,
    edit: {
      record?: (r: Record<string, unknown>) => void;
      image?: string;
      layers?: (l: OciManifest["layers"]) => OciManifest["layers"];
      config?: (d: Descriptor) => Descriptor;
      annotations?: Record<string, string>;
      repository?: string;
    },
  ): Promise<void> {
    const repository = edit.repository ?? "hostile";
    const source = edit.image ?? a.layerImage(chain[0]!);
    const disk = await pushFileChunks(client, repository, source, {
      mediaType: DISK_CHUNK,
      title: "image.qcow2",
      compress: true,
    });
    const { stat } = await import("node:fs/promises");
    const record: Record<string, unknown> = {
      schema: 1,
      id: tag,
      base: "base",
      description: "crafted",
      created: Date.now(),
      diskSize: (await stat(source)).size,
    };
    edit.record?.(record);
    const log = Buffer.from("log");
    await client.pushBlob(repository, { data: log, digest: digestOf(log), size: log.length });
    const config = Buffer.from(JSON.stringify(record));
    await client.pushBlob(repository, {
      data: config,
      digest: digestOf(config),
      size: config.length,
    });
    let layers: OciManifest["layers"] = [
      ...disk,
      { mediaType: STEP_LOG, digest: digestOf(log), size: log.length },
    ];
    if (edit.layers) layers = edit.layers(layers);
    const manifest: OciManifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: LAYER_ARTIFACT,
      config: (edit.config ?? ((d) => d))({
        mediaType: LAYER_CONFIG,
        digest: digestOf(config),
        size: config.length,
      }),
      layers,
      ...(edit.annotations ? { annotations: edit.annotations } : {}),
    };
    await client.putManifest(repository, tag, encodeManifest(manifest), OCI_MANIFEST);
  }

  it("uses a manifest's ancestors only as far as each record's parent confirms them", async () => {
    // The hint names layers of the repository that are not this layer's parents (and one
    // that is nowhere): the pull brings the layer and its real parent, nothing else.
    await pushLayers(a, client, "hints", chain.at(-1)!);
    const parentDisk = digestOf(await readFile(a.layerImage(chain[0]!)));
    const liar = hex("lying-ancestors");
    for (const hint of [`${chain[2]},${chain[1]},${chain[0]}`, `${hex("nowhere")},${chain[0]}`]) {
      await pushCrafted(liar, {
        repository: "hints",
        image: a.layerImage(chain[1]!), // a disk on chain[0], as the record says
        record: (r) => Object.assign(r, { parent: chain[0]!, parentDisk }),
        annotations: { [ANNOTATION_ANCESTORS]: hint },
      });
      await using fresh = await newStore(dir, `hints-${hint.length}`);
      expect(await pullLayers(fresh, client, "hints", liar)).toEqual([chain[0], liar]);
      expect(fresh.lookup(chain[1]!)).toBeUndefined();
      expect(fresh.lookup(chain[2]!)).toBeUndefined();
      expect(fresh.lookup(liar)?.parent).toBe(chain[0]);
      expect((await fresh.check()).problems).toEqual([]);
    }
  });

  it("refuses a layer that names itself as its parent instead of asking for it forever", async () => {
    const loop = hex("its-own-parent");
    await pushCrafted(loop, {
      record: (r) => Object.assign(r, { parent: loop, parentDisk: digestOf("x") }),
      annotations: { [ANNOTATION_ANCESTORS]: `${loop},${loop}` },
    });
    const error = await pullLayers(b, client, "hostile", loop).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toContain(`deeper than the ${b.maxChainDepth} layers`);
    await storeIsClean(b, loop);
  });

  it("refuses a chain deeper than the store keeps, before a blob moves", async () => {
    await using shallow = await newStore(dir, "shallow", 2);
    const error = await pullLayers(shallow, client, "strata", chain[2]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toContain("deeper than the 2 layers");
    for (const id of chain) await storeIsClean(shallow, id);
    expect(await readdir(shallow.downloadDir).catch(() => [])).toEqual([]);
  });

  it("refuses, in the pull that brought its parent, a layer built on another disk of it", async () => {
    // The pulled parent's disk digest comes from the pass that checked its chunks: a child
    // naming other bytes is refused all the same, after its ancestors went in whole. Its disk
    // is chain[0]'s: one blob that two layers of the pull name, downloaded once.
    await pushLayers(a, client, "hostile", chain.at(-1)!);
    const id = hex("other-parent-disk");
    await pushCrafted(id, {
      record: (r) => {
        r.parent = chain[2]!;
        r.parentDisk = digestOf("another disk of the parent");
      },
    });
    await using d = await newStore(dir, "d");
    const error = await pullLayers(d, client, "hostile", id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toMatch(/built on another disk of its parent/);
    await storeIsClean(d, id);
    expect(chain.map((c) => d.lookup(c) !== undefined)).toEqual([true, true, true]);
  });

  it("refuses a bad layer in the middle of a chain: the layers below it in, nothing of it or above", async () => {
    // mid's disk is chain[0]'s, whose backing file is the base image, not chain[0]: refused
    // once chain[0] is in; top, on mid, downloads beside it and is never written.
    await pushLayers(a, client, "hostile", chain[0]!);
    const parentDisk = digestOf(await readFile(a.layerImage(chain[0]!)));
    const mid = hex("bad-middle");
    await pushCrafted(mid, { record: (r) => Object.assign(r, { parent: chain[0]!, parentDisk }) });
    const top = hex("above-bad-middle");
    await pushCrafted(top, {
      record: (r) => Object.assign(r, { parent: mid, parentDisk: digestOf("mid's disk") }),
    });
    await using fresh = await newStore(dir, "e");
    const error = await pullLayers(fresh, client, "hostile", top).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toContain(`hostile:${mid}`);
    expect((error as Error).message).toContain("backing file");
    expect(fresh.lookup(chain[0]!)).toBeDefined();
    await storeIsClean(fresh, mid);
    await storeIsClean(fresh, top);
    expect((await fresh.check()).problems).toEqual([]);
  });

  it("refuses a config whose names point outside the store", async () => {
    const id = hex("path-like");
    await pushCrafted(id, { record: (r) => (r.base = "../../other-store/base-image/x") });
    const error = await pullLayers(b, client, "hostile", id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toContain("not a plain name");
    await storeIsClean(b, id);
    const parent = hex("bad-parent");
    await pushCrafted(parent, { record: (r) => (r.parent = "../../../etc") });
    await expect(pullLayers(b, client, "hostile", parent)).rejects.toThrow(
      /parent is not a layer ID/,
    );
    await storeIsClean(b, parent);
  });

  it("refuses embedded data that is not the blob its descriptor names, keeping nothing", async () => {
    // A config that names a real parent in the data and the pushed record's digest and size; a
    // log whose data is another log of the same length.
    const lies: [string, string, Parameters<typeof pushCrafted>[1]][] = [
      [
        "REGISTRY_PROTOCOL",
        hex("lying-config"),
        {
          config: (d) =>
            embedData(
              d,
              Buffer.from(JSON.stringify({ id: hex("lying-config"), parent: chain[0] })),
            ),
        },
      ],
      [
        "REGISTRY_DIGEST_MISMATCH",
        hex("lying-log"),
        {
          layers: (l) =>
            l.map((d) => (d.mediaType === STEP_LOG ? embedData(d, Buffer.from("LOG")) : d)),
        },
      ],
    ];
    for (const [code, id, edit] of lies) {
      await pushCrafted(id, edit);
      const error = await pullLayers(b, client, "hostile", id).catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe(code);
      expect((error as Error).message).toMatch(/data embedded for blob/i);
      await storeIsClean(b, id);
      expect(await readdir(b.downloadDir)).toEqual([]);
    }
    expect((await b.check()).problems).toEqual([]);
  });

  it("refuses chunks that do not tile the disk", async () => {
    const id = hex("overlap");
    await pushCrafted(id, { layers: (l) => [l[0]!, l[0]!, l[1]!] });
    await expect(pullLayers(b, client, "hostile", id)).rejects.toThrow(/does not start where/);
    await storeIsClean(b, id);
  });

  it("refuses a qcow2 whose backing file names another store's layer", async () => {
    const id = hex("other-backing");
    const image = join(dir, "evil-backing.qcow2");
    await exec("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "qcow2",
      "-u",
      "-b",
      `../../../../../other-store/result/${chain[0]}/rootfs/image.qcow2`,
      image,
      "64M",
    ]);
    await pushCrafted(id, { image });
    const error = await pullLayers(b, client, "hostile", id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toContain("backing file");
    await storeIsClean(b, id);
  });

  it("refuses a qcow2 that keeps its data in an external file", async () => {
    const id = hex("data-file");
    const image = join(dir, "evil-data.qcow2");
    await exec("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-o",
      `data_file=${join(dir, "host-file.raw")}`,
      image,
      "64M",
    ]);
    await pushCrafted(id, { image });
    const error = await pullLayers(b, client, "hostile", id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactRefusedError);
    expect((error as Error).message).toContain("external data file");
    await storeIsClean(b, id);
  });

  it("refuses a blob whose bytes do not match its digest, keeping nothing", async () => {
    const id = hex("corrupt");
    await pushCrafted(id, {});
    // A proxy that flips bytes of every disk chunk it serves, as a hostile registry would.
    const proxy: Server = createServer((req, res) => {
      const upstream = httpRequest(
        {
          host: "127.0.0.1",
          port: registry.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          const corrupt = req.method === "GET" && req.url?.includes("/blobs/");
          up.on("data", (chunk: Buffer) => {
            if (corrupt) chunk[0] = chunk[0]! ^ 0xff;
            res.write(chunk);
          });
          up.on("end", () => res.end());
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const viaProxy = new RegistryClient({
        registry: `127.0.0.1:${(proxy.address() as AddressInfo).port}`,
        credentials: anonymous,
      });
      const error = await pullLayers(b, viaProxy, "hostile", id).catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe("REGISTRY_DIGEST_MISMATCH");
      await storeIsClean(b, id);
      expect(await readdir(b.downloadDir)).toEqual([]);
    } finally {
      proxy.close();
    }
  });
});
