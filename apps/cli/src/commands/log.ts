import { createReadStream } from "node:fs";
import { type Command, parseCommandArgs } from "../command.js";
import { EXIT_OK } from "../exit-codes.js";
import { openStoreFor, requireOne, STORE_OPTION, STORE_USAGE } from "./store-options.js";

export const logCommand: Command = {
  name: "log",
  summary: "print the saved output of a layer's step",
  usage: `usage: strata log [--store=qemu:DIR] ID

Prints the output layer ID's step produced when it was built (what a cache hit replays).

options:
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("log", argv, STORE_OPTION);
    const id = requireOne(positionals, "layer ID", "log");
    await using store = await openStoreFor(values.store, io);
    await store.inspect(id); // a clear LAYER_NOT_FOUND for an unknown ID
    for await (const chunk of createReadStream(store.layerLog(id), { signal: io.signal }))
      io.stdout.write((chunk as Buffer).toString("utf8"));
    return EXIT_OK;
  },
};
