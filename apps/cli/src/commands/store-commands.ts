import type { Command } from "@strata/cli-kit";
import { storeCommand } from "./store-check.js";
import { cleanCommand } from "./store-clean.js";
import { deleteCommand } from "./store-delete.js";
import { duCommand } from "./store-du.js";
import { inspectCommand, lsCommand } from "./store-ls.js";
import { pruneCommand } from "./store-prune.js";

/** The store maintenance commands (from @strata/store). */
export const storeCommands: readonly Command[] = [
  deleteCommand,
  pruneCommand,
  cleanCommand,
  lsCommand,
  inspectCommand,
  duCommand,
  storeCommand,
];
