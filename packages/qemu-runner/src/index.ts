export {
  type AcceleratorChoice,
  type CachedProbe,
  type ChooseAcceleratorOptions,
  chooseAccelerator,
  DEFAULT_PROBE_TIMEOUT_MS,
  defaultCacheDir,
  hostAccelKey,
  type ProbeOptions,
  type ProbeResult,
  probeAccelerator,
  probeBiosImage,
} from "./accel.js";
export {
  type Accelerator,
  buildQemuArgv,
  DEFAULT_FIRMWARE_PATHS,
  type DriveSpec,
  escapeOptionValue,
  type GuestForward,
  type NetworkMode,
  type QemuArgvConfig,
  qemuBinary,
} from "./argv.js";
export { cleanConsoleText, readFileTail } from "./console-log.js";
export {
  ImageNoSshError,
  MAX_TAIL_BYTES,
  QemuBootTimeoutError,
  QemuCancelledError,
  QemuError,
  type QemuErrorCode,
  QemuExitedError,
  QemuHotplugError,
  QemuNetworkSandboxError,
  QemuOptionsError,
  QemuPortInUseError,
  QemuStartError,
  QemuStateError,
  QmpClosedError,
  QmpCommandError,
} from "./errors.js";
export {
  BLOCKED_ROUTES,
  type HostNetwork,
  hostNetworkCommands,
  NETNS_FILE,
  NETNS_PREFIX,
  openHostNetwork,
  removeStaleHostNetwork,
} from "./host-network.js";
export {
  HOTPLUG_PORTS,
  type HotplugDrive,
  hotAddDrive,
  hotplugPortArgs,
  hotRemoveDrive,
} from "./hotplug.js";
export { continueVm, pauseVm, snapshotRootDisk } from "./live-snapshot.js";
export {
  MACHINE_CHOICES,
  type MachineDefinition,
  type MachineProblem,
  type MachineResult,
  MIN_MACHINE_MEMORY_MIB,
  parseMachineDefinition,
} from "./machine.js";
export {
  assertSshAccess,
  type BootConfig,
  DEFAULT_CPUS,
  DEFAULT_MEMORY_MIB,
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  type DiskInterface,
  defaultManifest,
  defaultShell,
  type Firmware,
  GUEST_OSES,
  type GuestArch,
  type GuestOs,
  type ImageManifest,
  loadImageManifest,
  type ManifestProblem,
  type ManifestResult,
  manifestPathFor,
  type ParseManifestOptions,
  parseImageManifest,
} from "./manifest.js";
export { imageManifestJsonSchema, type JsonSchema } from "./manifest-schema.js";
export { withParentDeath } from "./parent-death.js";
export { findFreePort, isHostForwardFailure } from "./ports.js";
export {
  DEFAULT_QMP_TIMEOUT_MS,
  listenQmp,
  QmpClient,
  type QmpEvent,
  type QmpListener,
  type QmpWaitOptions,
} from "./qmp.js";
export { liveProcessIds } from "./registry.js";
export {
  createOwnedTempDir,
  OWNED_TEMP_PREFIX,
  OWNER_PID_FILE,
  RUN_DIR_PREFIX,
  reapStaleVms,
} from "./stale.js";
export {
  DEFAULT_PORT_ATTEMPTS,
  DEFAULT_START_TIMEOUT_MS,
  type StartVmOptions,
  startVm,
  type VmEvent,
} from "./start-vm.js";
export {
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type ShutdownOptions,
  type ShutdownResult,
  Vm,
  type VmExit,
  type WaitUntilReadyOptions,
} from "./vm.js";
export { DEFAULT_STATE_TIMEOUT_MS, INCOMING_ARGS, resumeVmState, saveVmState } from "./vm-state.js";
