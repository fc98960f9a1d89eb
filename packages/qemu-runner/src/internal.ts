// strata's own packages only; no promise of stability. The public surface is index.ts.
export { backingChainDepth, readQcow2Backing } from "./backing-chain.js";
export { readFileTail } from "./console-log.js";
export {
  HOTPLUG_PORTS,
  type HotplugDrive,
  hotAddDrive,
  hotplugPortArgs,
  hotRemoveDrive,
} from "./hotplug.js";
// A live VM's pause, disk snapshot and saved state: the builder's warm starts. Another tool
// drives a VM through Vm and its QMP client; these follow strata's own state files.
export { continueVm, pauseVm, snapshotRootDisk } from "./live-snapshot.js";
export { createOwnedTempDir } from "./stale.js";
export {
  compressVmState,
  dumpVmState,
  INCOMING_ARGS,
  rawStatePath,
  resumeVmState,
} from "./vm-state.js";
