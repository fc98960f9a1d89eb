export {
  EXIT_ENVIRONMENT,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  EXIT_VM,
  runWithInterrupt,
} from "./exit-codes.js";
export type { OptionSpec, OptionValues } from "./parse-args.js";
export { parseCommandArgs } from "./parse-args.js";
export { formatBytes, resolveStoreRoot, STORE_OPTION, STORE_USAGE } from "./store-option.js";
export { UsageError } from "./usage-error.js";
