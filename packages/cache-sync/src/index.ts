export {
  CacheError,
  type CacheErrorCode,
  CacheInUseError,
  CacheNotFoundError,
  CacheOptionsError,
  CacheStrategyMismatchError,
  CacheToolError,
  CacheTransferFailedError,
} from "./errors.js";
export type { CacheEvent } from "./events.js";
export {
  clearCopyTargetCommand,
  extractCommand,
  lookupUserCommand,
  mountDiskCommand,
  packCommand,
  prepareCopyTargetCommand,
  unmountDiskCommand,
  windowsPath,
} from "./guest-commands.js";
export {
  cacheFilesystemUuid,
  DEFAULT_CACHE_COPY_MAX_BYTES,
  DEFAULT_CACHE_COPY_MAX_ENTRIES,
  DEFAULT_CACHE_DISK_SIZE_BYTES,
} from "./host-tools.js";
export { type CacheInfo, listCaches, removeCache } from "./manage.js";
export {
  type CacheCommitResult,
  openCaches,
  type StepCaches,
} from "./open-caches.js";
export {
  type CacheMountRequest,
  type CacheUser,
  type OpenCachesOptions,
  targetProblems,
} from "./options.js";
export { type CacheStrategy, chooseStrategy } from "./strategy.js";
export { type CacheKind, type CacheVersion, pickCurrentVersion } from "./versions.js";
export type { CommitOutcome } from "./versions-io.js";
