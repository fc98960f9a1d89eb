import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { StoreContext } from "./context.js";
import { type LayerInfo, selectAllLayers, selectLayer, toLayerInfo } from "./database.js";
import { allocatedBytes, filesystemSpace } from "./disk-usage.js";
import { LayerCorruptError, LayerNotFoundError } from "./errors.js";
import { LAYER_IMAGE, LAYER_LOG } from "./layout.js";
import { type ImageInfo, readBackingChain } from "./qemu-img.js";

/** Everything about one layer: its record, its files and its backing chain. */
export interface LayerInspection {
  info: LayerInfo;
  dir: string;
  image: string;
  log: string;
  /** The layer's image first, then each backing file (from `qemu-img info --backing-chain`). */
  chain: ImageInfo[];
}

export async function inspectLayer(ctx: StoreContext, id: string): Promise<LayerInspection> {
  const row = selectLayer(ctx.db, id);
  if (!row) throw new LayerNotFoundError(id);
  const dir = join(ctx.layout.resultDir, id);
  const image = join(dir, LAYER_IMAGE);
  let chain: ImageInfo[];
  try {
    chain = await readBackingChain(image);
  } catch (error) {
    throw new LayerCorruptError(id, "its backing chain cannot be read", { cause: error });
  }
  return { info: toLayerInfo(row), dir, image, log: join(dir, LAYER_LOG), chain };
}

/** Bytes allocated on disk by each part of the store (st_blocks, so sparse images count right). */
export interface DiskUsage {
  /** Per layer, its own files only. */
  layers: { id: string; bytes: number }[];
  layersTotal: number;
  baseImages: number;
  caches: number;
  /** `result-tmp/` and `cache-tmp/`: running steps and not yet removed leftovers. */
  scratch: number;
  total: number;
  filesystem: { free: number; total: number };
}

export async function measureStore(ctx: StoreContext): Promise<DiskUsage> {
  const { layout } = ctx;
  const ids = readdirSync(layout.resultDir);
  const known = new Set(selectAllLayers(ctx.db).map((row) => row.id));
  const layers: { id: string; bytes: number }[] = [];
  for (const id of ids) {
    if (!known.has(id)) continue;
    layers.push({ id, bytes: await allocatedBytes(join(layout.resultDir, id)) });
  }
  const layersTotal = layers.reduce((sum, layer) => sum + layer.bytes, 0);
  const baseImages = await allocatedBytes(layout.baseImageDir);
  const caches = await allocatedBytes(layout.cacheDir);
  const scratch =
    (await allocatedBytes(layout.resultTmpDir)) + (await allocatedBytes(layout.cacheTmpDir));
  return {
    layers,
    layersTotal,
    baseImages,
    caches,
    scratch,
    total: layersTotal + baseImages + caches + scratch,
    filesystem: await filesystemSpace(layout.root),
  };
}
