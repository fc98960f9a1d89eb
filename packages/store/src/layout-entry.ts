// `@strata/store/layout`: the store's paths and error classes without its database, so a tool
// that only names files in a store (image-builder) does not load the native sqlite module:
// paths, a base image's identity file, and the process identity of work directories.
export { baseImageIdentity, writeBaseImageIdentity } from "./base-image.js";
export type { StoreErrorCode } from "./errors.js";
export {
  BaseImageManifestError,
  BaseImageMissingError,
  StoreError,
} from "./errors.js";
export type { StoreLayout } from "./layout.js";
export {
  baseBackingPath,
  layerImagePath,
  parseBackingPath,
  SSH_KEY_NAME,
  storeLayout,
} from "./layout.js";
export { currentProcess, isProcessAlive, type ProcessIdentity } from "./process-identity.js";
export type { OwnerFacts } from "./store-owner.js";
export { assertStoreOwner, checkStoreOwner, StoreNotOwnedError } from "./store-owner.js";
