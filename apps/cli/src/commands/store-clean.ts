import { type Command, parseCommandArgs } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT_OK } from "../exit-codes.js";
import { formatBytes, openStoreFor, STORE_OPTION, STORE_USAGE } from "./store-options.js";

export const cleanCommand: Command = {
  name: "clean",
  summary: "remove every cached layer not in use, and leftovers of dead builds",
  usage: `usage: strata clean [--store=qemu:DIR]

Removes every cached layer that no running build uses, and what dead builds left in result-tmp/
and cache-tmp/. Base images and caches (cache/) are kept.

options:
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("clean", argv, STORE_OPTION);
    if (positionals.length > 0)
      throw new UsageError('unexpected argument; see "strata clean --help"');
    await using store = await openStoreFor(values.store, io);
    const report = await store.clean();
    io.stderr.write(
      `${report.removed.length} layer(s), ${formatBytes(report.freedBytes)} freed; ${store.recovery.removedLeftovers + report.removedLeftovers} leftover(s) removed\n`,
    );
    return EXIT_OK;
  },
};
