import type { LayerInfo } from "@strata/store";
import { type Command, parseCommandArgs } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT_OK } from "../exit-codes.js";
import { formatBytes, openStoreFor, STORE_OPTION, STORE_USAGE } from "./store-options.js";

function layerJson(layer: LayerInfo) {
  return { ...layer, created: layer.created.toISOString(), lastUsed: layer.lastUsed.toISOString() };
}

export const lsCommand: Command = {
  name: "ls",
  summary: "list the cached layers",
  usage: `usage: strata ls [--store=qemu:DIR] [--json]

Lists the cached layers, oldest first: ID, last use, size on disk, children, step.

options:
  --json            one JSON object per line, for machines
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("ls", argv, {
      ...STORE_OPTION,
      json: { type: "boolean" },
    });
    if (positionals.length > 0) throw new UsageError('unexpected argument; see "strata ls --help"');
    await using store = await openStoreFor(values.store, io);
    for (const layer of store.list()) {
      if (values.json) {
        io.stdout.write(`${JSON.stringify(layerJson(layer))}\n`);
        continue;
      }
      const used = layer.lastUsed.toISOString().replace("T", " ").slice(0, 19);
      const step = layer.description.split("\n")[0];
      io.stdout.write(
        `${layer.id}  ${used}  ${formatBytes(layer.bytes).padStart(10)}  ${String(layer.children).padStart(3)}  ${step}\n`,
      );
    }
    return EXIT_OK;
  },
};

export const inspectCommand: Command = {
  name: "inspect",
  summary: "show a cached layer: record, files and backing chain",
  usage: `usage: strata inspect [--store=qemu:DIR] ID

Prints layer ID's record, its files and its qcow2 backing chain, as JSON.

options:
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("inspect", argv, STORE_OPTION);
    if (positionals.length !== 1) {
      throw new UsageError('expected exactly one layer ID; see "strata inspect --help"');
    }
    await using store = await openStoreFor(values.store, io);
    const inspection = await store.inspect(positionals[0]!);
    const shown = { ...inspection, info: layerJson(inspection.info) };
    io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    return EXIT_OK;
  },
};
