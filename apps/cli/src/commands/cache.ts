import { type CacheInfo, listCaches, removeCache } from "@strata/cache-sync";
import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { formatBytes, openStoreFor, STORE_OPTION } from "./store-options.js";

function cacheJson(cache: CacheInfo) {
  return { ...cache, updated: cache.updated.toISOString() };
}

export const cacheCommand = defineCommand({
  name: "cache",
  summary: "list or remove the mutable caches of `(cache ...)` mounts: `strata cache ls|rm NAME`",
  synopsis: ["ls [--store=qemu:DIR] [--json]", "rm [--store=qemu:DIR] NAME..."],
  maxArguments: Number.POSITIVE_INFINITY,
  complete: [["ls", "rm", "list", "delete"], "none"],
  description: `ls  lists the caches: name, strategy (tree = copy, disk = qcow2 disk), version, last update,
    size on disk, and "in use" while a running build has it checked out.
    ("list" works too)
rm  removes caches ("delete" works too); refused (exit 3) for a cache a running build is using.`,
  options: {
    ...STORE_OPTION,
    json: { type: "boolean", help: "(ls) one JSON object per line, for machines" },
  },
  async run({ values, positionals }, io) {
    const [action, ...names] = positionals;
    if (action === "ls" || action === "list") {
      if (names.length > 0) throw new UsageError('unexpected argument; see "strata cache --help"');
      await using store = await openStoreFor(values.store, io);
      const caches = await listCaches(store);
      if (caches.length === 0 && !values.json) {
        io.stderr.write(`no caches in ${store.root}; a step with (cache ...) makes them\n`);
        return EXIT_OK;
      }
      const width = Math.max(4, ...caches.map((c) => c.name.length));
      if (!values.json) {
        io.stdout.write(
          `${"NAME".padEnd(width)}  KIND  VERSION  ${"UPDATED".padEnd(19)}  ${"SIZE".padStart(10)}\n`,
        );
      }
      for (const cache of caches) {
        if (values.json) {
          io.stdout.write(`${JSON.stringify(cacheJson(cache))}\n`);
          continue;
        }
        const updated = cache.updated.toISOString().replace("T", " ").slice(0, 19);
        io.stdout.write(
          `${cache.name.padEnd(width)}  ${cache.kind.padEnd(4)}  ${`v${cache.generation}`.padEnd(7)}  ${updated}  ${formatBytes(cache.bytes).padStart(10)}${cache.inUse ? "  in use" : ""}\n`,
        );
      }
      return EXIT_OK;
    }
    if (action === "rm" || action === "delete") {
      if (names.length === 0)
        throw new UsageError('expected a cache NAME; see "strata cache --help"');
      if (values.json) throw new UsageError('option "--json" is only for "strata cache ls"');
      await using store = await openStoreFor(values.store, io);
      for (const name of names) {
        await removeCache(store, name);
        io.stdout.write(`removed cache ${name}\n`);
      }
      return EXIT_OK;
    }
    throw new UsageError(
      'expected "strata cache ls" or "strata cache rm NAME"; see "strata cache --help"',
    );
  },
});
