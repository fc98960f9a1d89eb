import { type CacheInfo, listCaches, removeCache } from "@strata/cache-sync";
import { type Command, parseCommandArgs } from "../command.js";
import { UsageError } from "../errors.js";
import { EXIT_OK } from "../exit-codes.js";
import { formatBytes, openStoreFor, STORE_OPTION, STORE_USAGE } from "./store-options.js";

function cacheJson(cache: CacheInfo) {
  return { ...cache, updated: cache.updated.toISOString() };
}

export const cacheCommand: Command = {
  name: "cache",
  summary: "list or remove the mutable caches of `(cache ...)` mounts: `strata cache ls|rm NAME`",
  usage: `usage: strata cache ls [--store=qemu:DIR] [--json]
       strata cache rm [--store=qemu:DIR] NAME...

ls  lists the caches: name, strategy (tree = copy, disk = qcow2 disk), version, last update,
    size on disk, and "in use" while a running build has it checked out.
rm  removes caches; refused (exit 3) for a cache a running build is using.

options:
  --json            (ls) one JSON object per line, for machines
${STORE_USAGE}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs("cache", argv, {
      ...STORE_OPTION,
      json: { type: "boolean" },
    });
    const [action, ...names] = positionals;
    if (action === "ls") {
      if (names.length > 0) throw new UsageError('unexpected argument; see "strata cache --help"');
      await using store = await openStoreFor(values.store, io);
      for (const cache of await listCaches(store)) {
        if (values.json) {
          io.stdout.write(`${JSON.stringify(cacheJson(cache))}\n`);
          continue;
        }
        const updated = cache.updated.toISOString().replace("T", " ").slice(0, 19);
        io.stdout.write(
          `${cache.name}  ${cache.kind.padEnd(4)}  v${cache.generation}  ${updated}  ${formatBytes(cache.bytes).padStart(10)}${cache.inUse ? "  in use" : ""}\n`,
        );
      }
      return EXIT_OK;
    }
    if (action === "rm") {
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
};
