import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { formatBytes, openStoreFor, STORE_OPTION } from "./store-options.js";

export const cleanCommand = defineCommand({
  name: "clean",
  summary: "remove every cached layer not in use, and leftovers of dead builds",
  synopsis: "[--store=qemu:DIR] [--dry-run]",
  maxArguments: 0,
  description: `Removes every cached layer that no running build uses, what dead builds left in result-tmp/
and cache-tmp/, and, when no pull runs, the blobs killed pulls left in download/ (kept until
then for the next pull to resume). Base images and caches (cache/) are kept.`,
  options: {
    ...STORE_OPTION,
    "dry-run": { type: "boolean", help: "remove nothing; print what would be removed" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0)
      throw new UsageError('unexpected argument; see "strata clean --help"');
    await using store = await openStoreFor(values.store, io);
    if (values["dry-run"]) {
      const report = await store.clean({ dryRun: true });
      for (const id of report.removed) io.stdout.write(`would remove ${id}\n`);
      io.stderr.write(
        `${report.removed.length} layer(s), ${formatBytes(report.freedBytes)} would be freed; ${report.removedLeftovers} leftover(s) would be removed (dry run)\n`,
      );
      return EXIT_OK;
    }
    const report = await store.clean();
    io.stderr.write(
      `${report.removed.length} layer(s), ${formatBytes(report.freedBytes)} freed; ${store.recovery.removedLeftovers + report.removedLeftovers} leftover(s) removed\n`,
    );
    return EXIT_OK;
  },
});
