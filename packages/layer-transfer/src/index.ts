export type { ChunkRange } from "./chunks.js";
export { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, planChunks } from "./chunks.js";
export type { TransferErrorCode } from "./errors.js";
export { ArtifactNotFoundError, ArtifactRefusedError, TransferError } from "./errors.js";
export type { TransferEvent, TransferEventListener } from "./events.js";
export { progressReporter } from "./events.js";
export type { ProgressFn, PushFileChunksOptions } from "./file-chunks.js";
export { pushFileChunks, pushSmallBlob } from "./file-chunks.js";
export type { LayerArtifact, LayerRecord } from "./layer-artifact.js";
export { buildLayerManifest, checkLayerManifest, checkLayerRecord } from "./layer-artifact.js";
export * as mediaTypes from "./media-types.js";
export type { PlannedChunk, PullFileChunksOptions } from "./pull-chunks.js";
export {
  assembleChunks,
  checkChunks,
  downloadChunks,
  removeDownloads,
  startDownloads,
} from "./pull-chunks.js";
export type { PullLayersOptions } from "./pull-layers.js";
export { pullLayers } from "./pull-layers.js";
export type { PushLayersOptions, StateFiles } from "./push-layers.js";
export { layerChain, pushLayers } from "./push-layers.js";
export type { Qcow2Header } from "./qcow2-header.js";
export { parseQcow2Header, QCOW2_HEADER_BYTES, readQcow2Header } from "./qcow2-header.js";
export type { ChunkTarget, CompressedRange, Decompressed, DecompressOptions } from "./zstd.js";
export { compressRange, decompressChunksInto, ZSTD_LEVEL } from "./zstd.js";
