import { type Descriptor, OCI_MANIFEST, type OciManifest } from "@strata/registry";
import { isLayerId, validateBaseImageName } from "@strata/store";
import {
  ANNOTATION_ANCESTORS,
  ANNOTATION_CREATED,
  DISK_CHUNK,
  LAYER_ARTIFACT,
  LAYER_CONFIG,
  MAX_ANCESTOR_HINTS,
  STATE_CHUNK,
  STATE_META,
  STEP_LOG,
} from "./media-types.js";
import { checkChunks, type PlannedChunk } from "./pull-chunks.js";

/** A layer's record, the config blob of its artifact. */
export interface LayerRecord {
  readonly schema: 1;
  readonly id: string;
  /** Absent for a first layer, built on the base image. */
  readonly parent?: string;
  /**
   * With `parent`: the sha256 of the parent's qcow2 file this layer was built on. A puller
   * whose parent of that ID holds other bytes (the step was built twice) refuses the layer.
   */
  readonly parentDisk?: string;
  readonly base: string;
  readonly description: string;
  /** Milliseconds since the epoch when the layer was built. */
  readonly created: number;
  /** Bytes of the layer's qcow2 file. */
  readonly diskSize: number;
  /** Bytes of the saved VM state, when the artifact carries one. */
  readonly stateSize?: number;
}

const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** Largest log blob accepted. */
export const MAX_LOG_BYTES = 256 * 1024 * 1024;

/** Validates a pulled config as the record of layer `id`; returns a reason when it is not. */
export function checkLayerRecord(json: unknown, id: string): LayerRecord | string {
  if (typeof json !== "object" || json === null) return "the config is not a JSON object";
  const r = json as Record<string, unknown>;
  if (r.schema !== 1) return `the config's schema is ${JSON.stringify(r.schema)}, not 1`;
  if (r.id !== id) return `the config is for layer ${JSON.stringify(r.id)}, not ${id}`;
  if (r.parent !== undefined && (typeof r.parent !== "string" || !isLayerId(r.parent))) {
    return "the config's parent is not a layer ID";
  }
  if (r.parent !== undefined && !(typeof r.parentDisk === "string" && SHA256.test(r.parentDisk)))
    return "the config does not name its parent's disk digest";
  if (r.parent === undefined && r.parentDisk !== undefined)
    return "the config names a parent's disk but no parent";
  if (typeof r.base !== "string") return "the config names no base image";
  try {
    validateBaseImageName(r.base);
  } catch {
    return `the config's base image name ${JSON.stringify(r.base)} is not a plain name`;
  }
  if (typeof r.description !== "string" || r.description.length > 1_000_000)
    return "the config's description is not a string";
  if (typeof r.created !== "number" || !Number.isFinite(r.created))
    return "the config's created time is not a number";
  if (!isSize(r.diskSize)) return "the config's disk size is not a byte count";
  if (r.stateSize !== undefined && !isSize(r.stateSize))
    return "the config's state size is not a byte count";
  return r as unknown as LayerRecord;
}

function isSize(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** The parts of a layer artifact, each checked. */
export interface LayerArtifact {
  readonly disk: PlannedChunk[];
  readonly log: Descriptor;
  readonly state?: { readonly chunks: PlannedChunk[]; readonly meta: Descriptor };
}

/**
 * Builds a layer's manifest from its pushed parts; `ancestors` (nearest first) become the
 * {@link ANNOTATION_ANCESTORS} hint, the first {@link MAX_ANCESTOR_HINTS} of them.
 */
export function buildLayerManifest(
  record: LayerRecord,
  config: Descriptor,
  disk: readonly Descriptor[],
  log: Descriptor,
  state: { chunks: readonly Descriptor[]; meta: Descriptor } | undefined,
  ancestors: readonly string[],
): OciManifest {
  const hint = ancestors.slice(0, MAX_ANCESTOR_HINTS);
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: LAYER_ARTIFACT,
    config,
    layers: [...disk, log, ...(state ? [...state.chunks, state.meta] : [])],
    annotations: {
      [ANNOTATION_CREATED]: new Date(record.created).toISOString(),
      ...(hint.length > 0 ? { [ANNOTATION_ANCESTORS]: hint.join(",") } : {}),
    },
  };
}

/**
 * The ancestor IDs a pulled manifest names (see {@link ANNOTATION_ANCESTORS}), or none when
 * the annotation is absent or not a list of layer IDs. Only a hint: nothing is trusted for it.
 */
export function ancestorHints(manifest: OciManifest): string[] {
  const value = manifest.annotations?.[ANNOTATION_ANCESTORS];
  // 64 hex and a comma an ID: a longer value holds more IDs than allowed, or no IDs at all.
  if (value === undefined || value.length > MAX_ANCESTOR_HINTS * 65) return [];
  const ids = value.split(",");
  return ids.every(isLayerId) ? ids : [];
}

/** Checks a pulled manifest against its record: types, and chunks that tile the declared sizes. */
export function checkLayerManifest(
  manifest: OciManifest,
  record: LayerRecord,
): LayerArtifact | string {
  if (manifest.artifactType !== LAYER_ARTIFACT) {
    return `its artifactType is ${JSON.stringify(manifest.artifactType)}, not ${LAYER_ARTIFACT}`;
  }
  if (manifest.config.mediaType !== LAYER_CONFIG) return "its config is not a strata layer record";
  const known = new Set([DISK_CHUNK, STEP_LOG, STATE_CHUNK, STATE_META]);
  const stranger = manifest.layers.find((d) => !known.has(d.mediaType));
  if (stranger) return `it holds a blob of unknown type ${JSON.stringify(stranger.mediaType)}`;
  const disk = checkChunks(
    manifest.layers.filter((d) => d.mediaType === DISK_CHUNK),
    DISK_CHUNK,
    record.diskSize,
  );
  if (typeof disk === "string") return `disk: ${disk}`;
  const logs = manifest.layers.filter((d) => d.mediaType === STEP_LOG);
  if (logs.length !== 1) return `it holds ${logs.length} logs, not one`;
  const log = logs[0]!;
  if (log.size > MAX_LOG_BYTES) return "its log is larger than allowed";
  const stateChunks = manifest.layers.filter((d) => d.mediaType === STATE_CHUNK);
  const metas = manifest.layers.filter((d) => d.mediaType === STATE_META);
  if (record.stateSize === undefined) {
    if (stateChunks.length > 0 || metas.length > 0)
      return "it holds a saved state its record does not declare";
    return { disk, log };
  }
  if (metas.length !== 1 || metas[0]!.size > 64 * 1024)
    return "its saved state has no single, small identity";
  const chunks = checkChunks(stateChunks, STATE_CHUNK, record.stateSize);
  if (typeof chunks === "string") return `state: ${chunks}`;
  return { disk, log, state: { chunks, meta: metas[0]! } };
}
