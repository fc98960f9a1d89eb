import { basename } from "node:path";
import { UsageError } from "./errors.js";

/** `ID:PATH` as `strata cp` takes it: a layer ID (or prefix) and an absolute guest path. */
interface LayerPath {
  layer: string;
  path: string;
}

/** Splits `ID:PATH` at its first colon (IDs are hex, paths may hold colons). Pure. */
export function parseLayerPath(text: string): LayerPath {
  const at = text.indexOf(":");
  if (at < 0)
    throw new UsageError(
      `"${text}" is not ID:PATH; strata cp copies out of a layer, e.g. "strata cp 3f9a:/etc/os-release ."`,
    );
  const layer = text.slice(0, at);
  const path = text.slice(at + 1);
  if (layer === "") throw new UsageError(`"${text}": the layer ID before ":" is missing`);
  if (!path.startsWith("/"))
    throw new UsageError(`"${text}": the path after ":" must be absolute, e.g. "${layer}:/etc"`);
  return { layer, path };
}

/**
 * `--output-path` values: absolute guest paths whose names (the last segment) differ, since each
 * lands in DIR under its own name. Pure.
 */
export function checkOutputPaths(paths: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const path of paths) {
    if (!path.startsWith("/") || path.replace(/\/+$/, "") === "")
      throw new UsageError(
        `option "--output-path": "${path}" must be an absolute path below /, e.g. /opt/app`,
      );
    const name = basename(path.replace(/\/+$/, ""));
    const other = seen.get(name);
    if (other !== undefined)
      throw new UsageError(
        `option "--output-path": "${other}" and "${path}" would both land in DIR as "${name}"; export them with strata cp instead`,
      );
    seen.set(name, path);
  }
}
