import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { formatBytes, openStoreFor, STORE_OPTION } from "./store-options.js";

export const duCommand = defineCommand({
  name: "du",
  summary: "show the disk space the store uses",
  synopsis: "[--store=qemu:DIR] [--json]",
  maxArguments: 0,
  description: `Prints the bytes really allocated on disk by the layers, base images, caches and scratch space.`,
  options: {
    ...STORE_OPTION,
    json: { type: "boolean", help: "one JSON object, for machines" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError('unexpected argument; see "strata du --help"');
    await using store = await openStoreFor(values.store, io);
    const usage = await store.du();
    if (values.json) {
      io.stdout.write(`${JSON.stringify(usage)}\n`);
      return EXIT_OK;
    }
    const line = (label: string, bytes: number) =>
      io.stdout.write(`${label.padEnd(14)}${formatBytes(bytes).padStart(12)}\n`);
    line(`layers (${usage.layers.length})`, usage.layersTotal);
    line("base images", usage.baseImages);
    line("caches", usage.caches);
    line("scratch", usage.scratch);
    line("total", usage.total);
    const percent = usage.filesystem.total
      ? ((usage.filesystem.free / usage.filesystem.total) * 100).toFixed(1)
      : "?";
    io.stdout.write(`free on disk: ${formatBytes(usage.filesystem.free)} (${percent}%)\n`);
    return EXIT_OK;
  },
});
