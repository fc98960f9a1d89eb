export type { BaseImage } from "./base-image.js";
export {
  BASE_IDENTITY_SUFFIX,
  baseImageIdentity,
  findBaseImage,
  validateBaseImageName,
  writeBaseImageIdentity,
} from "./base-image.js";
export type { BuildStepFn, ImageBacking, LayerBuild } from "./build-step.js";
export type { CacheCheckout, CacheLock, LockCacheOptions } from "./cache-lock.js";
export { DEFAULT_CACHE_LOCK_TIMEOUT_MS } from "./cache-lock.js";
export { escapeCacheName, unescapeCacheName } from "./cache-name.js";
export type { CheckOptions, CheckProblem, CheckReport } from "./check.js";
export { DEFAULT_STEP_WAIT_TIMEOUT_MS } from "./context.js";
export type { LayerInfo } from "./database.js";
export { allocatedBytes, filesystemSpace } from "./disk-usage.js";
export type { StoreErrorCode } from "./errors.js";
export {
  AmbiguousLayerIdError,
  BaseImageManifestError,
  BaseImageMissingError,
  DiskFullError,
  InvalidCacheNameError,
  InvalidLayerIdError,
  isDiskFull,
  LayerCorruptError,
  LayerInUseError,
  LayerNotFoundError,
  QemuImgError,
  StepCancelledError,
  StepFailedError,
  StepWaitTimeoutError,
  StoreError,
  StoreLockedError,
  StoreOptionsError,
} from "./errors.js";
export type { DiskUsage, LayerInspection } from "./inspect.js";
export {
  isLayerId,
  isLayerIdPrefix,
  MIN_LAYER_ID_PREFIX,
  matchLayerId,
  validateLayerId,
} from "./layer-id.js";
export type { StoreLayout } from "./layout.js";
export { storeLayout } from "./layout.js";
export type { Lease } from "./leases.js";
export type { LockRules } from "./lock-file.js";
export {
  DEFAULT_LOCK_HEARTBEAT_MS,
  DEFAULT_LOCK_RULES,
  DEFAULT_LOCK_STALE_MS,
} from "./lock-file.js";
export type { CleanOptions, CleanReport, PruneOptions, RemovalReport } from "./maintenance.js";
export type { ProcessIdentity } from "./process-identity.js";
export { currentProcess, isProcessAlive } from "./process-identity.js";
export type { PruneCandidate, PrunePlanOptions } from "./prune-plan.js";
export { planPrune, subtreePostOrder } from "./prune-plan.js";
export type { ImageInfo } from "./qemu-img.js";
export { readBackingChain } from "./qemu-img.js";
export type { RecoveryReport } from "./reconcile.js";
export type { BuildResult } from "./shared-run.js";
export type { BuildOptions, OpenStoreOptions } from "./store.js";
export { DEFAULT_MAX_CHAIN_DEPTH, openStore, Store } from "./store.js";
export type { OwnerFacts } from "./store-owner.js";
export { assertStoreOwner, checkStoreOwner, StoreNotOwnedError } from "./store-owner.js";
