import { setMaxListeners } from "node:events";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import {
  DEFAULT_CONCURRENCY,
  encodeManifest,
  OCI_MANIFEST,
  type RegistryClient,
  Semaphore,
} from "@strata/registry";
import { LayerNotFoundError, type Store } from "@strata/store";
import { layerDiskDigest } from "./disk-digest.js";
import { progressReporter, type TransferEventListener } from "./events.js";
import { pushFileChunks, pushSmallBlob } from "./file-chunks.js";
import { buildLayerManifest, type LayerRecord } from "./layer-artifact.js";
import { DISK_CHUNK, LAYER_CONFIG, STATE_CHUNK, STATE_META, STEP_LOG } from "./media-types.js";

/** File names of a layer's saved VM state (the builder's), to send with `--registry-states`. */
export interface StateFiles {
  /** The state itself, already zstd (`vmstate.zst`). */
  readonly state: string;
  /** Its machine identity (`vmstate.json`). */
  readonly meta: string;
}

/** Options of {@link pushLayers}. */
export interface PushLayersOptions {
  /** Also push each layer's saved VM state, when it has one. @default undefined (never) */
  readonly states?: StateFiles;
  /** @default DEFAULT_CHUNK_BYTES */
  readonly chunkBytes?: number;
  /** Layers known to be in the registry already (no `HEAD` for them); pushed ones are added. */
  readonly known?: Set<string>;
  readonly signal?: AbortSignal;
  readonly onEvent?: TransferEventListener;
}

/** The chain of layer `id`, from its first layer to itself. */
export function layerChain(store: Store, id: string): string[] {
  const chain: string[] = [];
  for (let at: string | undefined = id; at !== undefined; ) {
    const info = store.lookup(at);
    if (!info) throw new LayerNotFoundError(at);
    chain.unshift(at);
    at = info.parent;
  }
  return chain;
}

/**
 * Pushes layer `id` and every ancestor the registry lacks, first layer first, so a tag exists
 * only once everything below it does. Each layer is an OCI artifact tagged by its ID; a layer
 * whose tag is there already is skipped after one `HEAD`. Returns the IDs pushed.
 */
export async function pushLayers(
  store: Store,
  client: RegistryClient,
  repository: string,
  id: string,
  options: PushLayersOptions = {},
): Promise<string[]> {
  const chain = layerChain(store, id);
  const signal = options.signal ? { signal: options.signal } : {};
  const known = options.known ?? new Set<string>();
  const present = await Promise.all(
    chain.map((layer) => known.has(layer) || client.headManifest(repository, layer, signal)),
  );
  const missing = chain.filter((_, i) => present[i] === undefined);
  for (const layer of chain) {
    if (!missing.includes(layer)) options.onEvent?.({ type: "item", id: layer, action: "present" });
  }
  if (missing.length === 0) return [];
  const sizes = await Promise.all(missing.map((layer) => layerBytes(store, layer, options.states)));
  const progress = progressReporter(
    sizes.reduce((a, b) => a + b, 0),
    options.onEvent,
  );
  // Every missing layer's blobs go at once (compression and uploads bounded by shared slots);
  // the manifests are put first layer first, each once everything below it is there.
  const stop = new AbortController();
  const pushSignal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  setMaxListeners(0, pushSignal); // every request of the chain listens to it
  const slots = new Semaphore(DEFAULT_CONCURRENCY);
  const manifests = missing.map((layer) => {
    const blobs = pushLayerBlobs(store, client, repository, layer, {
      ...options,
      ancestors: chain.slice(0, chain.indexOf(layer)).reverse(),
      signal: pushSignal,
      slots,
      onProgress: progress,
    });
    blobs.catch(() => undefined);
    return blobs;
  });
  try {
    for (const [i, layer] of missing.entries()) {
      const manifest = await manifests[i]!;
      await client.putManifest(repository, layer, manifest, OCI_MANIFEST, {
        signal: pushSignal,
      });
      known.add(layer);
      options.onEvent?.({ type: "item", id: layer, action: "pushed" });
    }
  } finally {
    stop.abort();
    await Promise.allSettled(manifests);
  }
  for (const layer of chain) known.add(layer);
  return missing;
}

async function layerBytes(
  store: Store,
  id: string,
  states: StateFiles | undefined,
): Promise<number> {
  let bytes = (await stat(store.layerImage(id))).size;
  if (states)
    bytes += (await stat(join(store.layerDir(id), states.state)).catch(() => ({ size: 0 }))).size;
  return bytes;
}

/** Pushes every blob of layer `id`; returns its manifest, not yet put. */
async function pushLayerBlobs(
  store: Store,
  client: RegistryClient,
  repository: string,
  id: string,
  options: PushLayersOptions & {
    onProgress: (bytes: number) => void;
    slots: Semaphore;
    /** The layer's ancestors, nearest first. */
    ancestors: readonly string[];
  },
): Promise<Uint8Array> {
  const info = store.lookup(id);
  if (!info) throw new LayerNotFoundError(id);
  const signal = options.signal ? { signal: options.signal } : {};
  const image = store.layerImage(id);
  const common = {
    ...signal,
    slots: options.slots,
    onProgress: options.onProgress,
    ...(options.chunkBytes ? { chunkBytes: options.chunkBytes } : {}),
  };
  const disk = await pushFileChunks(client, repository, image, {
    mediaType: DISK_CHUNK,
    title: "rootfs/image.qcow2",
    compress: true,
    ...common,
  });
  const log = await pushSmallBlob(
    client,
    repository,
    await readFile(store.layerLog(id)),
    STEP_LOG,
    "log",
    signal,
  );
  let state:
    | {
        chunks: Awaited<ReturnType<typeof pushFileChunks>>;
        meta: Awaited<ReturnType<typeof pushSmallBlob>>;
      }
    | undefined;
  let stateSize: number | undefined;
  if (options.states) {
    const statePath = join(store.layerDir(id), options.states.state);
    const meta = await readFile(join(store.layerDir(id), options.states.meta)).catch(
      () => undefined,
    );
    const size = await stat(statePath).then(
      (s) => s.size,
      () => undefined,
    );
    if (meta && size !== undefined) {
      state = {
        chunks: await pushFileChunks(client, repository, statePath, {
          mediaType: STATE_CHUNK,
          title: options.states.state,
          compress: false,
          ...common,
        }),
        meta: await pushSmallBlob(
          client,
          repository,
          meta,
          STATE_META,
          options.states.meta,
          signal,
        ),
      };
      stateSize = size;
    }
  }
  const record: LayerRecord = {
    schema: 1,
    id,
    ...(info.parent
      ? { parent: info.parent, parentDisk: await layerDiskDigest(store, info.parent) }
      : {}),
    base: info.base,
    description: info.description,
    created: info.created.getTime(),
    diskSize: (await stat(image)).size,
    ...(stateSize === undefined ? {} : { stateSize }),
  };
  const configBytes = Buffer.from(JSON.stringify(record));
  const config = await pushSmallBlob(
    client,
    repository,
    configBytes,
    LAYER_CONFIG,
    undefined,
    signal,
  );
  return encodeManifest(buildLayerManifest(record, config, disk, log, state, options.ancestors));
}
