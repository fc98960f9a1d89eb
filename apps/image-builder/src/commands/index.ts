import { type Command, createCompletionCommand } from "@strata/cli-kit";
import { exportCommand, importCommand } from "./archive.js";
import { build } from "./build.js";
import { customise } from "./customise.js";
import { install, run } from "./install.js";
import { inspect, list, rm } from "./manage.js";
import { pullCommand, pushCommand } from "./registry.js";

/** Every `strata-image` command, in help order. */
export const commands: readonly Command[] = [
  build,
  customise,
  install,
  run,
  exportCommand,
  importCommand,
  pushCommand,
  pullCommand,
  list,
  inspect,
  rm,
  createCompletionCommand("strata-image", () => commands),
];
