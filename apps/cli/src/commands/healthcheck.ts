import { runBuild } from "@strata/builder";
import { spec } from "@strata/spec-parser";
import { type Command, parseCommandArgs } from "../command.js";
import { EXIT_OK } from "../exit-codes.js";
import { createBuildRenderer } from "../render-build.js";
import { openStoreFor, STORE_OPTION, STORE_USAGE } from "./store-options.js";

export const healthcheckCommand: Command = {
  name: "healthcheck",
  summary: "run a trivial build in a VM on a base image, then remove it",
  usage: `usage: strata healthcheck [--store=qemu:DIR] [--base NAME] [-v]

Boots a VM from base image NAME (default: debian-bookworm), runs a trivial command and reports
how long it took. The layer it made is deleted afterwards.

options:
  --base NAME       the base image to check
  -v, --verbose     show the build's output
${STORE_USAGE}`,
  async run(argv, io) {
    const { values } = parseCommandArgs("healthcheck", argv, {
      ...STORE_OPTION,
      base: { type: "string" },
      verbose: { type: "boolean", short: "v" },
    });
    const base = values.base ?? "debian-bookworm";
    await using store = await openStoreFor(values.store, io);
    // A fresh value every time, so the step really runs instead of coming from the cache.
    const check = spec()
      .from(base)
      .env("STRATA_HEALTHCHECK", String(Date.now()))
      .run("echo healthy")
      .build();
    const started = Date.now();
    const render = createBuildRenderer(io, { verbose: false, json: false });
    const id = await runBuild({
      store,
      spec: check,
      contextDir: io.cwd,
      signal: io.signal,
      onEvent: (e) => (values.verbose ? render(e) : undefined),
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    await store.delete(id);
    io.stdout.write(`healthy: a step on ${base} ran in ${seconds} s\n`);
    return EXIT_OK;
  },
};
