export type { ArgumentKind, Command, CommandArgs, OptionTable } from "./command.js";
export {
  defineCommand,
  formatCommandHelp,
  formatOptions,
  formatProgramHelp,
} from "./command.js";
export type { CompletionShell } from "./completion.js";
export { COMPLETION_SHELLS, createCompletionCommand, formatCompletion } from "./completion.js";
export type { KnownErrorCode } from "./exit-code-table.js";
export { EXIT_CODES, exitCodeFor, isKnownErrorCode } from "./exit-code-table.js";
export type { ExitStatus } from "./exit-codes.js";
export {
  EXIT_ENVIRONMENT,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_STATUS_MEANINGS,
  EXIT_USAGE,
  EXIT_VM,
} from "./exit-codes.js";
export { formatCommandsMarkdown, formatExitCodesMarkdown } from "./format-markdown.js";
export type { CliErrorCode } from "./input-error.js";
export { InputError } from "./input-error.js";
export type { StopSignal } from "./interrupt.js";
export {
  EXIT_CODE_FOR_SIGNAL,
  InterruptedError,
  runWithInterrupt,
  STOP_SIGNALS,
  stopSignalOf,
} from "./interrupt.js";
export type { CliIo } from "./io.js";
export { captureIo, createProcessIo } from "./io.js";
export type { KnownError, KnownErrorClass } from "./known-error.js";
export { isAbortError, isKnownError } from "./known-error.js";
export { editDistance, nearestName } from "./nearest-name.js";
export type { ProgressMode } from "./output-options.js";
export {
  createStyle,
  PROGRESS_OPTIONS,
  resolveProgress,
  shouldUseColor,
} from "./output-options.js";
export type { OptionSpec, OptionValues } from "./parse-args.js";
export { parseCommandArgs } from "./parse-args.js";
export type { ProgressRendererOptions } from "./progress.js";
export { createProgressRenderer, createTransferRenderer, formatProgress } from "./progress.js";
export type { OpenedRegistry, OpenRegistryOptions } from "./registry-option.js";
export { openRegistry, REGISTRY_OPTIONS } from "./registry-option.js";
export type { Program, ProgramEntry } from "./run-main.js";
export { programEntry } from "./run-main.js";
export { formatBytes, resolveStoreRoot, STORE_ENV, STORE_OPTION } from "./store-option.js";
export { UsageError } from "./usage-error.js";
