import { type Command, parseCommandArgs } from "../command.js";
import { EXIT_OK } from "../exit-codes.js";
import {
  formatBytes,
  openStoreFor,
  requireOne,
  STORE_OPTION,
  STORE_USAGE,
} from "./store-options.js";

export const deleteCommand: Command = {
  name: "delete",
  summary: "delete a cached layer and every layer built on it",
  usage: `usage: strata delete [--store=qemu:DIR] ID

Removes layer ID and every layer built on it. Refuses while a running build uses one of them.

options:
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("delete", argv, STORE_OPTION);
    const id = requireOne(positionals, "layer ID", "delete");
    await using store = await openStoreFor(values.store, io);
    const report = await store.delete(id);
    for (const removed of report.removed) io.stdout.write(`deleted ${removed}\n`);
    io.stderr.write(`${report.removed.length} layer(s), ${formatBytes(report.freedBytes)} freed\n`);
    return EXIT_OK;
  },
};
