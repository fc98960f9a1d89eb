import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { exportFromLayer, type MachineOptions } from "@strata/builder";
import type { CliIo } from "@strata/cli-kit";
import type { Store } from "@strata/store";
import { UsageError } from "../errors.js";
import { checkOutputPaths } from "../layer-path.js";
import { renderExportEvent } from "./cp.js";

/** `--output` and `--output-path`, as `strata build` takes them (buildx's `--output`). */
export const OUTPUT_OPTIONS = {
  output: {
    type: "string",
    value: "DIR",
    help: "after the build, copy each --output-path of the final layer into DIR\n(created if missing), as strata cp does",
  },
  "output-path": {
    type: "string",
    multiple: true,
    value: "PATH",
    help: "an absolute path in the final layer to export with --output; repeatable",
  },
} as const;

/** What to export after a build: the host directory and the guest paths. */
interface BuildOutput {
  dir: string;
  paths: readonly string[];
}

/** Checks `--output`/`--output-path` before anything runs. */
export function buildOutputOf(
  values: { readonly output?: string | undefined; readonly "output-path"?: string[] | undefined },
  cwd: string,
): BuildOutput | undefined {
  const paths = values["output-path"] ?? [];
  if (values.output === undefined) {
    if (paths.length > 0) throw new UsageError('option "--output-path" needs --output DIR');
    return undefined;
  }
  if (paths.length === 0)
    throw new UsageError(
      'option "--output" needs at least one --output-path PATH (the paths of the final layer to export)',
    );
  checkOutputPaths(paths);
  return { dir: resolve(cwd, values.output), paths };
}

/** Copies the output paths out of the build's final layer into the output directory. */
export async function exportBuildOutput(
  output: BuildOutput,
  o: { store: Store; id: string; machine: MachineOptions; io: CliIo; signal: AbortSignal },
): Promise<void> {
  await mkdir(output.dir, { recursive: true });
  await exportFromLayer({
    ...o.machine,
    store: o.store,
    id: o.id,
    copies: output.paths.map((path) => ({ path, dest: output.dir })),
    signal: o.signal,
    onEvent: renderExportEvent(o.io),
  });
}
