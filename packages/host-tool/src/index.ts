export { debianPackageOf, HostToolError, type HostToolErrorCode } from "./errors.js";
export {
  DEFAULT_STDERR_TAIL_BYTES,
  type HostToolOptions,
  type HostToolProcess,
  type HostToolResult,
  runHostTool,
  spawnHostTool,
} from "./run-host-tool.js";
export { createLineSplitter, createTailBuffer, type TailBuffer } from "./tail.js";
