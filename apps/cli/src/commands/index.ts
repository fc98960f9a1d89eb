import type { Command } from "../command.js";
import { buildCommand } from "./build.js";
import { cacheCommand } from "./cache.js";
import { dockerfileCommand } from "./dockerfile.js";
import { fmtCommand } from "./fmt.js";
import { storeCommands } from "./store-commands.js";

/** Every subcommand, in `strata --help` order: add one import and one entry per command. */
export const commands: readonly Command[] = [
  cacheCommand,
  buildCommand,
  dockerfileCommand,
  fmtCommand,
  ...storeCommands,
];
