export {
  HostToolBaseError,
  HostToolError,
  type HostToolErrorCode,
  type HostToolFailure,
  HostToolMissingError,
  packageOf,
} from "./errors.js";
export { parentDeathPrefix, withParentDeath } from "./parent-death.js";
export {
  type HostToolOptions,
  type HostToolProcess,
  runHostTool,
  spawnHostTool,
} from "./run-host-tool.js";
export { boundTail, createLineTail, type LineTail, MAX_TAIL_BYTES } from "./tail.js";
