import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import type { PruneOptions } from "@strata/store";
import { UsageError } from "../errors.js";
import {
  formatBytes,
  openStoreFor,
  parseDate,
  parsePercent,
  parseSize,
  STORE_OPTION,
} from "./store-options.js";

export const pruneCommand = defineCommand({
  name: "prune",
  summary: "remove least-recently-used cached layers",
  synopsis:
    "[--store=qemu:DIR] [--dry-run] [--before DATE] [--keep-free PERCENT] [--max-size SIZE]",
  maxArguments: 0,
  description: `Removes cached layers, least recently used first and always a leaf (a layer nothing else is built
on) before its parent; layers used by a running build stay. With --before only, every layer last
used before DATE goes; --keep-free and --max-size stop as soon as they hold.`,
  options: {
    ...STORE_OPTION,
    before: {
      type: "string",
      value: "DATE",
      help: "only layers last used before DATE (2026-01-31, 2026-01-31T12:00Z, or 30d)",
    },
    "keep-free": {
      type: "string",
      value: "PERCENT",
      help: "until PERCENT of the store's filesystem is free",
    },
    "max-size": {
      type: "string",
      value: "SIZE",
      help: "until the layers take at most SIZE (500M, 20G, 1T)",
    },
    "dry-run": { type: "boolean", help: "remove nothing; print what would be removed" },
  },
  async run({ values, positionals }, io) {
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
    const dryRun = values["dry-run"] ?? false;
    const report = await store.prune({ ...options, dryRun });
    for (const removed of report.removed)
      io.stdout.write(`${dryRun ? "would prune" : "pruned"} ${removed}\n`);
    io.stderr.write(
      `${report.removed.length} layer(s), ${formatBytes(report.freedBytes)} ${dryRun ? "would be freed (dry run)" : "freed"}\n`,
    );
    return EXIT_OK;
  },
});
