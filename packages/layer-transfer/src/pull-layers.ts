import { setMaxListeners } from "node:events";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import {
  type Descriptor,
  parseOciManifest,
  type RegistryClient,
  RegistryError,
  RegistryNotFoundError,
} from "@strata/registry";
import type { Store } from "@strata/store";
import createDebug from "debug";
import { layerDiskDigest } from "./disk-digest.js";
import { ArtifactNotFoundError, ArtifactRefusedError } from "./errors.js";
import { progressReporter, type TransferEventListener } from "./events.js";
import { InflateShells } from "./inflate-shell.js";
import {
  ancestorHints,
  checkLayerManifest,
  checkLayerRecord,
  type LayerArtifact,
  type LayerRecord,
  MAX_LOG_BYTES,
} from "./layer-artifact.js";
import { LAYER_ARTIFACT } from "./media-types.js";
import { assembleChunks, removeDownloads, startDownloads } from "./pull-chunks.js";
import type { StateFiles } from "./push-layers.js";
import { readQcow2Header } from "./qcow2-header.js";
import { type Decompressed, decompressChunksInto } from "./zstd.js";

const debug = createDebug("strata:layer-transfer");

/** Largest layer record read. */
const MAX_CONFIG_BYTES = 1024 * 1024;
/** Layer disks decompressed at once (each a `zstd -d` and a hashing pass: about two cores). */
const DISKS_AT_ONCE = 2;

/** Options of {@link pullLayers}. */
export interface PullLayersOptions {
  /** Also bring saved VM states, when the artifacts carry them. @default undefined (never) */
  readonly states?: StateFiles;
  readonly signal?: AbortSignal;
  readonly onEvent?: TransferEventListener;
}

interface PlannedLayer {
  readonly id: string;
  readonly record: LayerRecord;
  readonly artifact: LayerArtifact;
  /** The ancestors its manifest names (a hint, see {@link planChain}). */
  readonly ancestors: readonly string[];
}

/**
 * Pulls layer `id` and the ancestors the store lacks, first layer first. Every manifest and
 * record is checked before a byte of disk moves; blobs are downloaded (resumably, into the
 * store's download dir) and verified, then each layer is written through `store.build`, so it
 * enters `result/` by the same atomic rename as a built layer, or not at all. A disk whose
 * qcow2 names a data file, or a backing file other than the one the store itself would write
 * for this parent, is refused. Returns the IDs pulled (empty when the store had the layer).
 */
export async function pullLayers(
  store: Store,
  client: RegistryClient,
  repository: string,
  id: string,
  options: PullLayersOptions = {},
): Promise<string[]> {
  const plan = await planChain(store, client, repository, id, options.signal);
  if (plan.length === 0) {
    options.onEvent?.({ type: "item", id, action: "present" });
    return [];
  }
  // The base image must be here before anything is downloaded (it is not a layer).
  store.findBaseImage(plan[0]!.record.base);
  // `strata clean` leaves download/ alone while this is held.
  using _downloads = store.holdDownloads();
  // A blob several chunks name downloads once (see startDownloads); each log is read apart.
  const blobs = new Map(
    plan.flatMap((p) => chunkBlobs(p, options).map((d) => [d.digest, d.size] as const)),
  );
  const progress = progressReporter(
    [...blobs.values(), ...plan.map((p) => p.artifact.log.size)].reduce((a, b) => a + b, 0),
    options.onEvent,
  );
  const downloadDir = store.downloadDir;
  await mkdir(downloadDir, { recursive: true });
  // Every layer's blobs download from the start (as many at once as the client allows, first
  // layer first), so later layers arrive while earlier ones are written; they are stopped
  // (their partial blobs kept for a resume) when the pull ends early.
  const stop = new AbortController();
  const downloadSignal = options.signal
    ? AbortSignal.any([options.signal, stop.signal])
    : stop.signal;
  // Every request of the chain listens to it: many listeners are expected.
  setMaxListeners(0, downloadSignal);
  const dl = {
    downloadDir,
    compressed: true,
    onProgress: progress,
    signal: downloadSignal,
    started: new Map<string, Promise<string>>(),
  };
  // The small blobs (logs, state metadata) of every layer are asked for first, ahead of the
  // disks in the client's queue, so committing a layer never waits on a request.
  const small = plan.map(({ artifact }) => {
    const opts = { maxBytes: MAX_LOG_BYTES, ...(options.signal ? { signal: options.signal } : {}) };
    const log = client.readDescribed(repository, artifact.log, opts);
    const wantState = options.states ? artifact.state : undefined;
    const meta = wantState ? client.readDescribed(repository, wantState.meta, opts) : undefined;
    log.catch(() => undefined);
    meta?.catch(() => undefined);
    return { log, meta };
  });
  const downloads = plan.map(({ artifact }) => ({
    disk: startDownloads(client, repository, artifact.disk, dl),
    state:
      options.states && artifact.state
        ? startDownloads(client, repository, artifact.state.chunks, { ...dl, compressed: false })
        : undefined,
  }));
  // Each disk is decompressed and checked against its chunk digests as soon as its blobs are
  // here, beside the downloads (not in the store), while earlier layers are committed. A disk
  // holds one of the shells that start the zstd processes (as many as DISKS_AT_ONCE, for the
  // whole chain) for the CPU-bound part only: its fsync runs after, beside the next disk's.
  const shells = new InflateShells(DISKS_AT_ONCE);
  const disks = plan.map(({ id, artifact }, at) => {
    const path = join(downloadDir, `${id}.qcow2`);
    const disk = (async () => {
      const decompressed = await shells.use(downloadSignal, (shell) =>
        decompressChunksInto(artifact.disk, downloads[at]!.disk, path, {
          signal: downloadSignal,
          sync: false,
          shell,
        }),
      );
      debug("layer %s: disk decompressed and checked", id);
      if (!decompressed.problem) await syncFile(path);
      debug("layer %s: disk synced", id);
      return { path, ...decompressed };
    })();
    disk.catch(() => undefined);
    return { path, disk };
  });
  try {
    return await writeLayers(
      store,
      client,
      repository,
      plan,
      small,
      downloads,
      disks,
      progress,
      options,
    );
  } finally {
    stop.abort();
    const closed = shells.close();
    await Promise.allSettled([
      ...downloads.flatMap((d) => [...d.disk, ...(d.state ?? [])]),
      ...disks.map((d) => d.disk),
      closed,
    ]);
    // Disks not moved into the store (a failure, or a layer built meanwhile) are scratch.
    await Promise.all(disks.map((d) => rm(d.path, { force: true })));
  }
}

/** A layer's disk decompressed beside the downloads: its path, or why its bytes are wrong. */
interface AssembledDisk {
  readonly path: string;
  readonly disk: Promise<{ readonly path: string } & Decompressed>;
}

/** Each planned layer through `store.build`, first layer first, from its started downloads. */
async function writeLayers(
  store: Store,
  client: RegistryClient,
  repository: string,
  plan: readonly PlannedLayer[],
  small: readonly { log: Promise<Buffer>; meta: Promise<Buffer> | undefined }[],
  downloads: readonly { disk: Promise<string>[]; state: Promise<string>[] | undefined }[],
  disks: readonly AssembledDisk[],
  progress: (bytes: number) => void,
  options: PullLayersOptions,
): Promise<string[]> {
  const signal = options.signal ? { signal: options.signal } : {};
  const pulled: string[] = [];
  // The sha256 of the disk this pull put in the store for each layer, so a child's check
  // against its parent's disk needs no second pass over it.
  const pulledDisks = new Map<string, string>();
  for (const [at, layer] of plan.entries()) {
    const { artifact, record } = layer;
    const disk = downloads[at]!.disk;
    const reference = `${client.registry}/${repository}:${layer.id}`;
    const paths = async () => settledPaths([...disk, ...(downloads[at]!.state ?? [])]);
    const refused = async (error: unknown): Promise<never> => {
      // Verified blobs of a refused artifact are of no use: only a killed pull keeps its blobs.
      if (isRefusal(error)) await removeDownloads(await paths());
      throw error;
    };
    const log = await small[at]!.log.catch(refused);
    progress(log.length);
    const wantState = options.states && artifact.state ? artifact.state : undefined;
    const state = wantState
      ? { blobs: downloads[at]!.state!, meta: (await small[at]!.meta!.catch(refused))! }
      : undefined;
    debug("layer %s: committing", layer.id);
    // The parent is in the store by now (here already, or pulled just before): the layer is
    // garbage on any other disk that has the parent's ID. A first layer is an empty overlay of
    // the base image its ID names, whatever its bytes (qemu-img versions write other headers).
    if (
      record.parent &&
      store.lookup(record.parent)?.parent !== undefined &&
      (pulledDisks.get(record.parent) ?? (await layerDiskDigest(store, record.parent))) !==
        record.parentDisk
    ) {
      await refused(
        new ArtifactRefusedError(
          reference,
          `it was built on another disk of its parent ${record.parent.slice(0, 12)} than this store's (that step was built twice, on two hosts)`,
        ),
      );
    }
    let pulledDisk: string | undefined;
    const result = await store
      .build(
        layer.id,
        {
          ...(record.parent ? { parent: record.parent } : { base: record.base }),
          description: record.description,
          provideImage: true,
          ...signal,
        },
        async (build) => {
          const expected = build.backing;
          if (expected === undefined) {
            throw new ArtifactRefusedError(
              reference,
              "the chain is deeper than this store keeps as overlays",
            );
          }
          debug("layer %s: store ready, waiting for its disk", layer.id);
          const { path: pulledImage, problem, digest } = await disks[at]!.disk;
          if (problem)
            throw new ArtifactRefusedError(reference, `its disk is corrupt (${problem})`);
          const header = await readQcow2Header(pulledImage);
          if (typeof header === "string")
            throw new ArtifactRefusedError(reference, `its disk is ${header}`);
          if (header.externalData) {
            throw new ArtifactRefusedError(
              reference,
              "its qcow2 keeps its data in an external data file",
            );
          }
          if (header.backingFile !== expected.file || header.backingFormat !== expected.format) {
            throw new ArtifactRefusedError(
              reference,
              `its qcow2's backing file is ${JSON.stringify(header.backingFile ?? null)}, not ${JSON.stringify(expected.file)}`,
            );
          }
          await rename(pulledImage, build.image);
          pulledDisk = digest;
          build.log(log);
          if (state && wantState) {
            const bad = await assembleChunks(
              wantState.chunks,
              state.blobs,
              join(build.dir, options.states!.state),
              false,
            );
            if (bad)
              throw new ArtifactRefusedError(reference, `its saved state is corrupt (${bad})`);
            await writeFileSynced(join(build.dir, options.states!.meta), state.meta);
          }
        },
      )
      .catch(refused);
    debug("layer %s %s", layer.id, result.cached ? "was built meanwhile" : "pulled");
    if (pulledDisk) pulledDisks.set(layer.id, pulledDisk);
    // A blob a later layer names too stays until that layer is in.
    const needed = new Set(
      plan
        .slice(at + 1)
        .flatMap((p) => chunkBlobs(p, options).map((d) => d.digest.slice("sha256:".length))),
    );
    await removeDownloads((await paths()).filter((p) => !needed.has(basename(p))));
    pulled.push(layer.id);
    options.onEvent?.({ type: "item", id: layer.id, action: "pulled" });
  }
  return pulled;
}

/** The descriptors of the chunk blobs a pull downloads for `layer` (disk, and state if asked). */
function chunkBlobs(layer: PlannedLayer, options: PullLayersOptions): Descriptor[] {
  const { disk, state } = layer.artifact;
  return [...disk, ...(options.states && state ? state.chunks : [])].map((c) => c.descriptor);
}

/** The paths of the downloads that succeeded. */
async function settledPaths(downloads: readonly Promise<string>[]): Promise<string[]> {
  const settled = await Promise.allSettled(downloads);
  return settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
}

/**
 * The layers to pull for `id`, first layer first: `id` and its ancestors down to the first
 * this store has, each manifest and record checked. One parent at a time would cost two round
 * trips a layer (its record names the next), so the ancestors a manifest names (the
 * {@link ancestorHints}) are asked for at once, and kept only as far as each record's
 * `parent` confirms the hint; a wrong or missing hint costs requests, never a wrong layer.
 * A chain that reaches deeper than the store keeps overlays (or loops) is refused.
 */
async function planChain(
  store: Store,
  client: RegistryClient,
  repository: string,
  id: string,
  signal: AbortSignal | undefined,
): Promise<PlannedLayer[]> {
  const plan: PlannedLayer[] = []; // `id` first, then its ancestors
  const room = () => store.maxChainDepth - plan.length;
  let at: string | undefined = id;
  while (at !== undefined && !store.lookup(at)) {
    if (room() <= 0) {
      throw new ArtifactRefusedError(
        `${client.registry}/${repository}:${id}`,
        `its chain is deeper than the ${store.maxChainDepth} layers this store keeps as overlays`,
      );
    }
    const layer = await planLayer(client, repository, at, signal);
    plan.push(layer);
    at = layer.record.parent;
    const hinted: string[] = [];
    for (const ancestor of layer.ancestors) {
      if (hinted.length >= room() || store.lookup(ancestor)) break;
      hinted.push(ancestor);
    }
    const fetched = await Promise.allSettled(
      hinted.map((ancestor) => planLayer(client, repository, ancestor, signal)),
    );
    for (const f of fetched) {
      if (at === undefined || store.lookup(at)) break;
      if (f.status !== "fulfilled" || f.value.id !== at) break; // the next loop asks for `at`
      plan.push(f.value);
      at = f.value.record.parent;
    }
  }
  return plan.reverse();
}

async function planLayer(
  client: RegistryClient,
  repository: string,
  id: string,
  signal: AbortSignal | undefined,
): Promise<PlannedLayer> {
  const reference = `${client.registry}/${repository}:${id}`;
  const opts = signal ? { signal } : {};
  let fetched: Awaited<ReturnType<RegistryClient["getManifest"]>>;
  try {
    fetched = await client.getManifest(repository, id, opts);
  } catch (error) {
    if (error instanceof RegistryNotFoundError) throw new ArtifactNotFoundError(reference);
    throw error;
  }
  const manifest = refuseOnProtocol(reference, () =>
    parseOciManifest(fetched.json, `manifest of ${reference}`),
  );
  if (manifest.artifactType !== LAYER_ARTIFACT) {
    throw new ArtifactRefusedError(
      reference,
      `it is not a strata layer (artifactType ${JSON.stringify(manifest.artifactType)})`,
    );
  }
  if (manifest.config.size > MAX_CONFIG_BYTES)
    throw new ArtifactRefusedError(reference, "its config is too large");
  const configBytes = await client.readDescribed(repository, manifest.config, {
    maxBytes: MAX_CONFIG_BYTES,
    ...opts,
  });
  let json: unknown;
  try {
    json = JSON.parse(configBytes.toString("utf8"));
  } catch {
    throw new ArtifactRefusedError(reference, "its config is not JSON");
  }
  const record = checkLayerRecord(json, id);
  if (typeof record === "string") throw new ArtifactRefusedError(reference, record);
  const artifact = checkLayerManifest(manifest, record);
  if (typeof artifact === "string") throw new ArtifactRefusedError(reference, artifact);
  return { id, record, artifact, ancestors: ancestorHints(manifest) };
}

/**
 * Whether `error` condemns the artifact itself (refused, or bytes - a blob, embedded data - that
 * are not what its manifest names), not the transfer: its downloaded blobs are then removed.
 */
function isRefusal(error: unknown): boolean {
  return (
    error instanceof ArtifactRefusedError ||
    (error instanceof RegistryError &&
      (error.code === "REGISTRY_DIGEST_MISMATCH" || error.code === "REGISTRY_PROTOCOL"))
  );
}

function refuseOnProtocol<T>(reference: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RegistryError && error.code === "REGISTRY_PROTOCOL") {
      throw new ArtifactRefusedError(reference, error.message);
    }
    throw error;
  }
}

async function syncFile(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}

async function writeFileSynced(path: string, data: Buffer): Promise<void> {
  const file = await open(path, "w", 0o644);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}
