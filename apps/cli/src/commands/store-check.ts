import { defineCommand, EXIT_FAILURE, EXIT_OK } from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { openStoreFor, STORE_OPTION } from "./store-options.js";

export const storeCommand = defineCommand({
  name: "store",
  summary: "store maintenance: `strata store check [--repair]`",
  synopsis: "check [--store=qemu:DIR] [--repair]",
  maxArguments: 1,
  complete: [["check"]],
  description: `Checks that the database and the directories agree and that every layer's files, metadata, backing
file and qcow2 image are sound. Exits 1 if problems remain.`,
  options: {
    ...STORE_OPTION,
    repair: {
      type: "boolean",
      help: `fix what was found: damaged layers are removed with the layers built on them\n(they are rebuilt when needed), records are corrected`,
    },
  },
  async run({ values, positionals }, io) {
    if (positionals.length !== 1 || positionals[0] !== "check") {
      throw new UsageError('expected "strata store check"; see "strata store --help"');
    }
    await using store = await openStoreFor(values.store, io);
    const { recovery } = store;
    if (recovery.removedLeftovers + recovery.droppedRows.length + recovery.adoptedDirs.length > 0) {
      io.stdout.write(
        `start-up recovery: ${recovery.removedLeftovers} leftover(s) removed, ${recovery.droppedRows.length} stale record(s) dropped, ${recovery.adoptedDirs.length} layer(s) recorded\n`,
      );
    }
    const report = await store.check({ repair: values.repair === true });
    for (const problem of report.problems) {
      io.stdout.write(
        `${problem.repaired ? "repaired" : "problem"}: ${problem.id}: ${problem.kind}: ${problem.message}\n`,
      );
    }
    const left = report.problems.filter((problem) => !problem.repaired).length;
    io.stderr.write(
      `${report.layersChecked} layer(s) checked, ${report.problems.length} problem(s)${left ? `, ${left} left: run "strata store check --repair"` : ""}\n`,
    );
    return left > 0 ? EXIT_FAILURE : EXIT_OK;
  },
});
