/** `artifactType` of a layer's manifest. */
export const LAYER_ARTIFACT = "application/vnd.strata.layer.v1";
/** `artifactType` of a base image's manifest. */
export const BASE_IMAGE_ARTIFACT = "application/vnd.strata.base-image.v1";
/** Config of a layer artifact: the layer record (JSON). */
export const LAYER_CONFIG = "application/vnd.strata.layer.config.v1+json";
/** Config of a base image artifact (JSON). */
export const BASE_IMAGE_CONFIG = "application/vnd.strata.base-image.config.v1+json";
/** One chunk of a qcow2 file, zstd-compressed; chunks concatenated and decompressed give the file. */
export const DISK_CHUNK = "application/vnd.strata.disk.chunk.v1+zstd";
/** A step's saved output, as replayed on a cache hit. */
export const STEP_LOG = "application/vnd.strata.log.v1";
/** One chunk of a saved VM state file (`vmstate.zst`, already zstd), stored as is. */
export const STATE_CHUNK = "application/vnd.strata.vmstate.chunk.v1";
/** The saved state's machine identity (`vmstate.json`). */
export const STATE_META = "application/vnd.strata.vmstate.meta.v1+json";

/** Annotations on a chunk descriptor. */
export const ANNOTATION_OFFSET = "org.strata.chunk.offset";
export const ANNOTATION_LENGTH = "org.strata.chunk.length";
/** sha256 of the chunk's uncompressed bytes. */
export const ANNOTATION_RAW_DIGEST = "org.strata.chunk.digest";
/** ORAS reads file names from this annotation. */
export const ANNOTATION_TITLE = "org.opencontainers.image.title";
export const ANNOTATION_CREATED = "org.opencontainers.image.created";
/**
 * On a layer's manifest: the IDs of its ancestors, nearest first, comma-separated (at most
 * {@link MAX_ANCESTOR_HINTS}). A hint that lets a pull ask for a chain's manifests at once
 * instead of one parent at a time; each record's `parent` still decides.
 */
export const ANNOTATION_ANCESTORS = "org.strata.layer.ancestors";
export const MAX_ANCESTOR_HINTS = 64;
/**
 * A layer's config, log and state metadata up to this size travel inside its manifest too, as
 * the descriptor's `data` (OCI 1.1): a pull reads them without a request each (two requests a
 * layer saved, and the registry's CPU for them). The blobs are pushed all the same.
 */
export const EMBED_MAX_BYTES = 16 * 1024;
/** Chunks of a base image's kernel and initrd (zstd), for images that boot a kernel directly. */
export const KERNEL_CHUNK = "application/vnd.strata.kernel.chunk.v1+zstd";
export const INITRD_CHUNK = "application/vnd.strata.initrd.chunk.v1+zstd";
/** A base image's manifest (`<name>.json`), without its private key. */
export const IMAGE_MANIFEST = "application/vnd.strata.image-manifest.v1+json";
