import { resolve } from "node:path";
import { type ExportEvent, exportFromLayer } from "@strata/builder";
import type { CliIo } from "@strata/cli-kit";
import { defineCommand, EXIT_OK } from "@strata/cli-kit";
import { UsageError } from "../errors.js";
import { parseLayerPath } from "../layer-path.js";
import { openStoreFor, STORE_OPTION } from "./store-options.js";

/** Renders what `exportFromLayer` tells, on stderr (stdout stays empty). */
export function renderExportEvent(io: CliIo): (event: ExportEvent) => void {
  return (event) => {
    if (event.type === "booting")
      io.stderr.write(`strata: starting a VM on layer ${event.id.slice(0, 12)}...\n`);
    else if (event.type === "copied")
      io.stderr.write(`strata: copied ${event.path} to ${event.target}\n`);
    else
      io.stderr.write(
        `strata: warning: left out the symbolic link ${event.name} -> ${event.target}: it points outside the copy\n`,
      );
  };
}

export const cpCommand = defineCommand({
  name: "cp",
  summary: "copy a file or directory out of a layer to the host",
  synopsis: "[--store=qemu:DIR] ID:PATH DEST",
  maxArguments: 2,
  complete: ["layer", "file"],
  description: `Copies PATH (absolute, in the layer's file system) to DEST on the host, like "docker cp":
an existing directory DEST receives it as DEST/NAME; otherwise DEST is the new name (its parent
must exist). A directory copied onto an existing directory is merged into it. ID may be any
unambiguous prefix of 4+ characters.

The copy goes through a VM, never by reading the guest's disk on the host: the layer's
throw-away overlay is resumed from its saved state (or booted), and PATH comes out as a tar
stream over SSH that is treated as hostile (docs/security.md): absolute names, "..", writes
through links, devices and set-id bits are refused or dropped, and symbolic links that point
outside the copy are left out with a warning. Nothing is written outside DEST.`,
  options: { ...STORE_OPTION },
  async run({ values, positionals }, io) {
    if (positionals.length !== 2)
      throw new UsageError('expected ID:PATH and DEST; see "strata cp --help"');
    const source = parseLayerPath(positionals[0]!);
    const dest = positionals[1]!;
    await using store = await openStoreFor(values.store, io);
    const id = store.resolveLayerId(source.layer);
    await exportFromLayer({
      store,
      id,
      copies: [{ path: source.path, dest: resolveDest(io.cwd, dest) }],
      signal: io.signal,
      onEvent: renderExportEvent(io),
    });
    return EXIT_OK;
  },
});

/** DEST against the working directory, keeping a trailing "/" (it means "an existing directory"). */
export function resolveDest(cwd: string, dest: string): string {
  const resolved = resolve(cwd, dest);
  return /\/$/.test(dest) && resolved !== "/" ? `${resolved}/` : resolved;
}
