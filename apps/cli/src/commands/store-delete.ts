import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { formatBytes, openStoreFor, STORE_OPTION } from "./store-options.js";

export const deleteCommand = defineCommand({
  name: "rm",
  aliases: ["delete"],
  summary: "delete cached layers and every layer built on them",
  synopsis: "[--store=qemu:DIR] ID...",
  maxArguments: Number.POSITIVE_INFINITY,
  complete: ["layer"],
  description: `Removes each layer ID (or unambiguous prefix of 4+ characters) and every layer built on it ("delete" is OBuilder's name for it).
Refuses while a running build uses one of them.`,
  options: STORE_OPTION,
  async run({ values, positionals }, io) {
    if (positionals.length === 0)
      throw new UsageError('expected at least one layer ID; see "strata rm --help"');
    await using store = await openStoreFor(values.store, io);
    let count = 0;
    let freed = 0;
    for (const id of positionals) {
      const report = await store.delete(store.resolveLayerId(id));
      for (const removed of report.removed) io.stdout.write(`deleted ${removed}\n`);
      count += report.removed.length;
      freed += report.freedBytes;
    }
    io.stderr.write(`${count} layer(s), ${formatBytes(freed)} freed\n`);
    return EXIT_OK;
  },
});
