import type { PruneOptions } from "@strata/store";
import { type Command, parseCommandArgs } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT_OK } from "../exit-codes.js";
import {
  formatBytes,
  openStoreFor,
  parseDate,
  parsePercent,
  parseSize,
  STORE_OPTION,
  STORE_USAGE,
} from "./store-options.js";

export const pruneCommand: Command = {
  name: "prune",
  summary: "remove least-recently-used cached layers",
  usage: `usage: strata prune [--store=qemu:DIR] [--before DATE] [--keep-free PERCENT] [--max-size SIZE]

Removes cached layers, least recently used first and always a leaf (a layer nothing else is built
on) before its parent; layers used by a running build stay. With --before only, every layer last
used before DATE goes; --keep-free and --max-size stop as soon as they hold.

options:
  --before DATE        only layers last used before DATE (2026-01-31, 2026-01-31T12:00Z, or 30d)
  --keep-free PERCENT  until PERCENT of the store's filesystem is free
  --max-size SIZE      until the layers take at most SIZE (500M, 20G, 1T)
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("prune", argv, {
      ...STORE_OPTION,
      before: { type: "string" },
      "keep-free": { type: "string" },
      "max-size": { type: "string" },
    });
    if (positionals.length > 0)
      throw new UsageError('unexpected argument; see "strata prune --help"');
    const options: PruneOptions = {
      ...(values.before === undefined ? {} : { before: parseDate(values.before, "--before") }),
      ...(values["keep-free"] === undefined
        ? {}
        : { keepFreePercent: parsePercent(values["keep-free"], "--keep-free") }),
      ...(values["max-size"] === undefined
        ? {}
        : { maxSizeBytes: parseSize(values["max-size"], "--max-size") }),
    };
    if (Object.keys(options).length === 0) {
      throw new UsageError(
        'give at least one of "--before", "--keep-free" or "--max-size" ("strata clean" removes everything)',
      );
    }
    await using store = await openStoreFor(values.store, io);
    const report = await store.prune(options);
    for (const removed of report.removed) io.stdout.write(`pruned ${removed}\n`);
    io.stderr.write(`${report.removed.length} layer(s), ${formatBytes(report.freedBytes)} freed\n`);
    return EXIT_OK;
  },
};
