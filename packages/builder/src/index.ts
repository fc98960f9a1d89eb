export type { BootLayerOptions } from "./boot-layer.js";
export { bootLayer } from "./boot-layer.js";
export type { BuildContext, GuestOs } from "./build-context.js";
export { applyOp, initialContext, joinGuestPath } from "./build-context.js";
export type { CopyManifestEntry, CopyManifestOptions } from "./copy-manifest.js";
export { buildCopyManifest } from "./copy-manifest.js";
export type { CopyOut, CopyOutOptions } from "./copy-out.js";
export { copyOutOfGuest } from "./copy-out.js";
export type { GuestSource, HostKind } from "./copy-out-plan.js";
export { placeCopy, splitGuestSource } from "./copy-out-plan.js";
export type { CopyFromStageDiskOptions, StageResult } from "./copy-step.js";
export { copyDestination, copyFromStageDisk, copyFromStageScript } from "./copy-step.js";
export type { TarOwner } from "./copy-tar.js";
export { packCopyManifest, splitGuestRoot } from "./copy-tar.js";
export type { RunBuildOptions } from "./engine.js";
export { runBuild } from "./engine.js";
export type { BuildErrorCode } from "./errors.js";
export {
  BuildError,
  BuildStepFailedError,
  CopyOutError,
  CopySourceError,
  GuestQuiesceError,
  GuestShutdownError,
  SecretInstallError,
  SecretLeakError,
  SecretMissingError,
  SecretRemoveError,
  StepTimeoutError,
} from "./errors.js";
export type {
  BuildEvent,
  BuildEventListener,
  CacheProgressEvent,
  ColdBootReason,
  StepPhase,
  VmEvent,
} from "./events.js";
export { STEP_PHASES } from "./events.js";
export type { ExportEvent, ExportFromLayerOptions } from "./export-layer.js";
export { exportFromLayer } from "./export-layer.js";
export type { BootGuestOptions, MachineOptions } from "./guest.js";
export {
  bootGuest,
  DEFAULT_GUEST_BOOT_TIMEOUT_MS,
  DEFAULT_GUEST_SHUTDOWN_TIMEOUT_MS,
  Guest,
} from "./guest.js";
export type { SecretDigest } from "./layer-id.js";
export { baseLayerId, copyLayerId, runLayerId } from "./layer-id.js";
export type { BuildRegistryOptions } from "./registry-link.js";
export { RegistryLink } from "./registry-link.js";
export type { ScratchOverlay } from "./scratch-overlay.js";
export { createScratchOverlay } from "./scratch-overlay.js";
export type { RemoveSecrets, StepSecret } from "./secret-install.js";
export { installSecrets } from "./secret-install.js";
export { ensureSecretKey, SECRET_KEY_FILE } from "./secret-key.js";
export type { Redactor } from "./secret-redact.js";
export {
  createRedactor,
  guardedValues,
  MIN_GUARDED_SECRET_BYTES,
  SECRET_MASK,
} from "./secret-redact.js";
export { searchOverlay } from "./secret-scan.js";
export type { SecretValues } from "./secrets.js";
export { checkSecrets, loadSecrets, secretDigest } from "./secrets.js";
export { listStages, selectStages } from "./select-stages.js";
export { STATE_FILE, STATE_META } from "./warm-state.js";
