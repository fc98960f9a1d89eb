import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import type { LayerInfo } from "@strata/store";
import { UsageError } from "../errors.js";
import { formatBytes, openStoreFor, STORE_OPTION } from "./store-options.js";

function layerJson(layer: LayerInfo) {
  return { ...layer, created: layer.created.toISOString(), lastUsed: layer.lastUsed.toISOString() };
}

export const lsCommand = defineCommand({
  name: "ls",
  aliases: ["list"],
  summary: "list the cached layers",
  synopsis: "[--store=qemu:DIR] [--json | -q]",
  maxArguments: 0,
  description: `Lists the cached layers, oldest first: ID, last use, size on disk, children, step.`,
  options: {
    ...STORE_OPTION,
    json: { type: "boolean", help: "one JSON object per line, for machines" },
    quiet: { type: "boolean", short: "q", help: "print only the layer IDs" },
  },
  async run({ values }, io) {
    if (values.json && values.quiet)
      throw new UsageError('options "--json" and "-q" cannot be used together');
    await using store = await openStoreFor(values.store, io);
    const layers = store.list();
    if (layers.length === 0 && !values.json && !values.quiet) {
      io.stderr.write(`no layers in ${store.root}; "strata build" makes them\n`);
      return EXIT_OK;
    }
    if (!values.json && !values.quiet) {
      const id = "ID".padEnd(layers[0]!.id.length);
      io.stdout.write(`${id}  ${"LAST USED".padEnd(19)}  ${"SIZE".padStart(10)}  CHILDREN  STEP\n`);
    }
    for (const layer of layers) {
      if (values.json) {
        io.stdout.write(`${JSON.stringify(layerJson(layer))}\n`);
        continue;
      }
      if (values.quiet) {
        io.stdout.write(`${layer.id}\n`);
        continue;
      }
      const used = layer.lastUsed.toISOString().replace("T", " ").slice(0, 19);
      const step = layer.description.split("\n")[0];
      io.stdout.write(
        `${layer.id}  ${used}  ${formatBytes(layer.bytes).padStart(10)}  ${String(layer.children).padStart(8)}  ${step}\n`,
      );
    }
    return EXIT_OK;
  },
});

export const inspectCommand = defineCommand({
  name: "inspect",
  summary: "show a cached layer: record, files and backing chain",
  synopsis: "[--store=qemu:DIR] ID",
  maxArguments: 1,
  complete: ["layer"],
  description: `Prints layer ID's (or an unambiguous prefix's, 4+ characters) record, its files and its qcow2 backing chain, as JSON.`,
  options: STORE_OPTION,
  async run({ values, positionals }, io) {
    if (positionals.length !== 1) {
      throw new UsageError('expected exactly one layer ID; see "strata inspect --help"');
    }
    await using store = await openStoreFor(values.store, io);
    const inspection = await store.inspect(store.resolveLayerId(positionals[0]!));
    const shown = { ...inspection, info: layerJson(inspection.info) };
    io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    return EXIT_OK;
  },
});
