export type { Command, OptionSpec } from "./command.js";
export { parseCommandArgs } from "./command.js";
export { commands } from "./commands/index.js";
export { InputError, SpecFileError, UsageError } from "./errors.js";
export {
  EXIT_CODES,
  EXIT_ENVIRONMENT,
  EXIT_FAILURE,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
  EXIT_VM,
  exitCodeFor,
} from "./exit-codes.js";
export type { CliIo } from "./io.js";
export { main } from "./main.js";
export { renderProblems } from "./render-problems.js";
