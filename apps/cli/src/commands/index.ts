import { type Command, createCompletionCommand } from "@strata/cli-kit";
import { buildCommand } from "./build.js";
import { cacheCommand } from "./cache.js";
import { cpCommand } from "./cp.js";
import { dockerfileCommand } from "./dockerfile.js";
import { fleetCommand } from "./fleet.js";
import { fmtCommand } from "./fmt.js";
import { healthcheckCommand } from "./healthcheck.js";
import { logCommand } from "./log.js";
import { pullCommand, pushCommand } from "./registry.js";
import { shellCommand } from "./shell.js";
import { storeCommands } from "./store-commands.js";
import { workerCommand } from "./worker.js";

/** Every subcommand, in `strata --help` order: add one import and one entry per command. */
export const commands: readonly Command[] = [
  buildCommand,
  dockerfileCommand,
  fmtCommand,
  shellCommand,
  cpCommand,
  logCommand,
  healthcheckCommand,
  cacheCommand,
  pushCommand,
  pullCommand,
  workerCommand,
  fleetCommand,
  ...storeCommands,
  createCompletionCommand("strata", () => commands),
];
