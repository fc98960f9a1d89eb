// The public surface: what another tool needs to boot and drive a VM from an image manifest.
// What only strata's own packages use (hot-plugged drives, owned temp dirs, tails) is in
// "@strata/qemu-runner/internal".
export {
  type AcceleratorChoice,
  type ChooseAcceleratorOptions,
  chooseAccelerator,
  hostGuestArch,
} from "./accel.js";
export {
  type Accelerator,
  type DriveSpec,
  type GuestForward,
  type NetworkMode,
  qemuBinary,
} from "./argv.js";
export {
  ImageNoSshError,
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
  type MachineDefinition,
  type MachineProblem,
  type MachineResult,
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
export {
  DEFAULT_QMP_TIMEOUT_MS,
  QmpClient,
  type QmpEvent,
  type QmpWaitOptions,
} from "./qmp.js";
export { reapStaleVms } from "./stale.js";
export {
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
