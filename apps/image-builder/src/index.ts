export type { Command } from "./command.js";
export { commands } from "./commands/index.js";
export { EXIT_CODES, exitCodeFor } from "./exit-codes.js";
export type { CliIo } from "./io.js";
export { main } from "./main.js";
