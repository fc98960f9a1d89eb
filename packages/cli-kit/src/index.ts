export type { OptionSpec, OptionValues } from "./parse-args.js";
export { parseCommandArgs } from "./parse-args.js";
export { formatBytes, resolveStoreRoot, STORE_OPTION, STORE_USAGE } from "./store-option.js";
export { UsageError } from "./usage-error.js";
