import { createReadStream } from "node:fs";
import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { createOutputText } from "../output-text.js";
import { openStoreFor, requireOne, STORE_OPTION } from "./store-options.js";

export const logCommand = defineCommand({
  name: "log",
  summary: "print the saved output of a layer's step",
  synopsis: "[--store=qemu:DIR] ID",
  maxArguments: 1,
  complete: ["layer"],
  description: `Prints the output layer ID's (or an unambiguous prefix of 4+ characters) step produced when it was built (what a cache hit replays).`,
  options: STORE_OPTION,
  async run({ values, positionals }, io) {
    const given = requireOne(positionals, "layer ID", "log");
    await using store = await openStoreFor(values.store, io);
    const id = store.resolveLayerId(given); // a full ID or an unambiguous prefix
    // Reads are 64 KiB apart: a character split between two comes out whole.
    const text = createOutputText();
    for await (const chunk of createReadStream(store.layerLog(id), { signal: io.signal }))
      io.stdout.write(text.push(chunk as Buffer));
    io.stdout.write(text.flush());
    return EXIT_OK;
  },
});
