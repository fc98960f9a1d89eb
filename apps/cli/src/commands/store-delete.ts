import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { formatBytes, openStoreFor, requireOne, STORE_OPTION } from "./store-options.js";

export const deleteCommand = defineCommand({
  name: "delete",
  summary: "delete a cached layer and every layer built on it",
  synopsis: "[--store=qemu:DIR] ID",
  description: `Removes layer ID and every layer built on it. Refuses while a running build uses one of them.`,
  options: STORE_OPTION,
  async run({ values, positionals }, io) {
    const id = requireOne(positionals, "layer ID", "delete");
    await using store = await openStoreFor(values.store, io);
    const report = await store.delete(id);
    for (const removed of report.removed) io.stdout.write(`deleted ${removed}\n`);
    io.stderr.write(`${report.removed.length} layer(s), ${formatBytes(report.freedBytes)} freed\n`);
    return EXIT_OK;
  },
});
