import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import type { LayerRow } from "./database.js";
import { isLayerId } from "./layer-id.js";

/**
 * `result/<id>/meta.json`: the layer's own record, written before the rename into `result/`.
 * The directory is the truth and the database an index of it, so a crash between the rename
 * and the database commit loses nothing: start-up adopts the directory from this file.
 */
interface LayerMeta {
  id: string;
  parent?: string;
  base: string;
  description: string;
  created: number;
  depth: number;
  bytes: number;
}

/** Writes and fsyncs `meta.json` (off the event loop: a commit's fsyncs take milliseconds each). */
export async function writeLayerMeta(path: string, meta: LayerMeta): Promise<void> {
  const file = await open(path, "w", 0o644);
  try {
    await file.writeFile(`${JSON.stringify(meta, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** The metadata of a layer directory, or undefined when missing or malformed. */
export function readLayerMeta(path: string, id: string): LayerMeta | undefined {
  let meta: Partial<LayerMeta>;
  try {
    meta = JSON.parse(readFileSync(path, "utf8")) as Partial<LayerMeta>;
  } catch {
    return undefined;
  }
  const valid =
    meta.id === id &&
    (meta.parent === undefined || isLayerId(meta.parent)) &&
    typeof meta.base === "string" &&
    typeof meta.description === "string" &&
    typeof meta.created === "number" &&
    typeof meta.depth === "number" &&
    typeof meta.bytes === "number";
  return valid ? (meta as LayerMeta) : undefined;
}

export function metaToRow(meta: LayerMeta, lastUsed = meta.created): LayerRow {
  return {
    id: meta.id,
    parent: meta.parent ?? null,
    base: meta.base,
    description: meta.description,
    created: meta.created,
    last_used: lastUsed,
    children: 0,
    bytes: meta.bytes,
    depth: meta.depth,
  };
}
