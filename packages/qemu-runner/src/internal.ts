// strata's own packages only; no promise of stability. The public surface is index.ts.
export { readFileTail } from "./console-log.js";
export { boundTail, MAX_TAIL_BYTES } from "./errors.js";
export {
  HOTPLUG_PORTS,
  type HotplugDrive,
  hotAddDrive,
  hotplugPortArgs,
  hotRemoveDrive,
} from "./hotplug.js";
export { createOwnedTempDir } from "./stale.js";
