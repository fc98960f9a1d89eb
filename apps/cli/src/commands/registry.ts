import { STATE_FILE, STATE_META } from "@strata/builder";
import {
  createTransferRenderer,
  defineCommand,
  EXIT_OK,
  openRegistry,
  REGISTRY_OPTIONS,
} from "@strata/cli-kit";
import { pullLayers, pushLayers } from "@strata/layer-transfer";
import { openStoreFor, STORE_OPTION } from "./store-options.js";

const OPTIONS = {
  "registry-states": {
    type: "boolean",
    help: "also move saved VM states (resumed only by an identical machine)",
  },
  ...REGISTRY_OPTIONS,
  ...STORE_OPTION,
} as const;

export const pushCommand = defineCommand({
  name: "push",
  summary: "push a layer and its chain to an OCI registry",
  synopsis: "[OPTIONS] ID HOST[:PORT]/REPO",
  maxArguments: 2,
  arguments: ["ID", "REF"],
  complete: ["layer", "none"],
  description: `Pushes layer ID and every ancestor the registry lacks, each as an OCI artifact tagged by its
layer ID (see docs/registry.md). Layers the registry has already are skipped.`,
  options: OPTIONS,
  async run({ values, positionals }, io) {
    const [id, ref] = positionals as [string, string];
    const { client, reference } = openRegistry(ref, {
      insecure: values["insecure-registry"],
      repositoryOnly: "strata push --help",
    });
    await using store = await openStoreFor(values.store, io);
    const pushed = await pushLayers(store, client, reference.repository, id, {
      ...(values["registry-states"] ? { states: { state: STATE_FILE, meta: STATE_META } } : {}),
      signal: io.signal,
      onEvent: createTransferRenderer(io, "push", { items: true }),
    });
    io.stderr.write(
      pushed.length === 0
        ? `${ref} has ${id} already\n`
        : `pushed ${pushed.length} layer(s) to ${ref}\n`,
    );
    return EXIT_OK;
  },
});

export const pullCommand = defineCommand({
  name: "pull",
  summary: "pull a layer and its chain from an OCI registry",
  synopsis: "[OPTIONS] HOST[:PORT]/REPO ID",
  maxArguments: 2,
  arguments: ["REF", "ID"],
  complete: ["none", "layer"],
  description: `Pulls layer ID and the ancestors this store lacks. Every blob is verified; a layer enters the
store whole or not at all, and a killed pull resumes where it stopped. The chain's base image
must be in the store (strata-image pull).`,
  options: OPTIONS,
  async run({ values, positionals }, io) {
    const [ref, id] = positionals as [string, string];
    const { client, reference } = openRegistry(ref, {
      insecure: values["insecure-registry"],
      repositoryOnly: "strata pull --help",
    });
    await using store = await openStoreFor(values.store, io);
    const pulled = await pullLayers(store, client, reference.repository, id, {
      ...(values["registry-states"] ? { states: { state: STATE_FILE, meta: STATE_META } } : {}),
      signal: io.signal,
      onEvent: createTransferRenderer(io, "pull", { items: true }),
    });
    io.stderr.write(
      pulled.length === 0
        ? `the store has ${id} already\n`
        : `pulled ${pulled.length} layer(s) from ${ref}\n`,
    );
    return EXIT_OK;
  },
});
