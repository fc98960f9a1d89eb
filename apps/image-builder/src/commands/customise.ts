import { resolve } from "node:path";
import {
  defineCommand,
  EXIT_OK,
  PROGRESS_OPTIONS,
  resolveProgress,
  UsageError,
} from "@strata/cli-kit";
import { customiseImage } from "@strata/image-builder";
import { storeLayout } from "@strata/store/layout";
import { createProgressRenderer } from "../render-progress.js";
import { baseImageDir, prepareStoreRoot, STORE_OPTION } from "../store-options.js";

export const customise = defineCommand({
  name: "customise",
  aliases: ["customize"],
  summary: "boot a base image with a setup CD and save the result as a new one",
  synopsis: "FROM NEW --cd DIR [OPTIONS]",
  maxArguments: 2,
  arguments: ["FROM", "NEW"],
  complete: ["image", "none"],
  description: `Boots base image FROM (on an overlay; FROM is not changed) with an ISO made from DIR attached
(label "strata-setup"), runs DIR/setup.sh as root over SSH (setup.ps1 on Windows), powers off and
saves NEW: a standalone qcow2 with FROM's manifest, kernel files and key.`,
  options: {
    ...STORE_OPTION,
    cd: { type: "string", value: "DIR", help: "the directory to put on the CD (required)" },
    network: { type: "boolean", help: "give the guest the host's network (default: none)" },
    ...PROGRESS_OPTIONS,
    verbose: {
      type: "boolean",
      short: "v",
      help: "print the script's output as it runs (it is shown on failure anyway)",
    },
  },
  async run({ values, positionals }, io) {
    const [from, name] = positionals;
    if (!values.cd)
      throw new UsageError('option "--cd" is required: the directory holding setup.sh');
    const mode = resolveProgress(values, io);
    const storeRoot = await prepareStoreRoot(values.store, io);
    const progress = createProgressRenderer(io, values.verbose, mode);
    try {
      const done = await customiseImage({
        baseImageDir: baseImageDir(storeRoot),
        from: from!,
        name: name!,
        cdDir: resolve(io.cwd, values.cd),
        privateKeyPath: storeLayout(storeRoot).sshKeyPath,
        network: values.network ? "host" : "restricted",
        onProgress: progress.onProgress,
        signal: io.signal,
      });
      progress.done();
      io.stdout.write(
        mode === "json"
          ? `${JSON.stringify({ type: "done", name: done.name, image: done.image })}\n`
          : mode === "quiet"
            ? `${done.name}\n`
            : `${done.name}: ${done.image}\n`,
      );
    } finally {
      progress.done();
    }
    return EXIT_OK;
  },
});
