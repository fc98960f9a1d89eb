// strata's own packages only; no promise of stability. The public surface is index.ts.
export { readFileTail } from "./console-log.js";
export {
  HOTPLUG_PORTS,
  type HotplugDrive,
  hotAddDrive,
  hotplugPortArgs,
  hotRemoveDrive,
} from "./hotplug.js";
export { createOwnedTempDir } from "./stale.js";
