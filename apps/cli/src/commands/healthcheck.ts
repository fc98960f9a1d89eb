import { runBuild } from "@strata/builder";
import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { spec } from "@strata/spec-parser";
import { createBuildRenderer } from "../render-build.js";
import { openStoreFor, STORE_OPTION } from "./store-options.js";

export const healthcheckCommand = defineCommand({
  name: "healthcheck",
  summary: "run a trivial build in a VM on a base image, then remove it",
  synopsis: "[--store=qemu:DIR] [--base NAME] [-v]",
  maxArguments: 0,
  description: `Boots a VM from base image NAME (default: debian-bookworm), runs a trivial command and reports
how long it took. The layer it made is deleted afterwards.`,
  options: {
    ...STORE_OPTION,
    base: { type: "string", value: "NAME", help: "the base image to check" },
    verbose: { type: "boolean", short: "v", help: "show the build's output" },
  },
  async run({ values }, io) {
    const base = values.base ?? "debian-bookworm";
    await using store = await openStoreFor(values.store, io);
    // A fresh value every time, so the step really runs instead of coming from the cache.
    const check = spec()
      .from(base)
      .env("STRATA_HEALTHCHECK", String(Date.now()))
      .run("echo healthy")
      .build();
    const started = Date.now();
    const render = createBuildRenderer(io, { verbose: false, mode: "plain" });
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
});
