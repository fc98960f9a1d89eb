import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { UsageError } from "./usage-error.js";

/** `--store` as every command of both apps takes it. */
export const STORE_OPTION = {
  store: {
    type: "string",
    value: "qemu:DIR",
    help: "the store directory (OBuilder's form; a plain DIR works too)\ndefault: $STRATA_STORE, else $XDG_DATA_HOME/strata,\ni.e. ~/.local/share/strata",
  },
} as const;

/** The environment variable that sets the default store, in the same forms as `--store`. */
export const STORE_ENV = "STRATA_STORE";

/**
 * The store directory from `--store` (`qemu:DIR` or `DIR`), else `$STRATA_STORE` (same forms),
 * else the XDG default.
 */
export function resolveStoreRoot(
  value: string | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (value === undefined && env[STORE_ENV]) {
    return resolveStoreRoot(env[STORE_ENV], cwd, {});
  }
  if (value === undefined) {
    const data = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : undefined;
    return join(data ?? join(homedir(), ".local", "share"), "strata");
  }
  const backend = /^([a-z0-9]+):(.*)$/.exec(value);
  if (backend && backend[1] !== "qemu") {
    throw new UsageError(
      `option "--store": backend "${backend[1]}" is not supported; use --store=qemu:DIR`,
    );
  }
  const dir = backend ? backend[2]! : value;
  if (dir === "") throw new UsageError('option "--store" needs a directory: --store=qemu:DIR');
  return resolve(cwd, dir);
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
