import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { openStore, type Store } from "@strata/store";
import { UsageError } from "../errors.js";
import type { CliIo } from "../io.js";

/** `--store` as every store command takes it. */
export const STORE_OPTION = { store: { type: "string" } } as const;

export const STORE_USAGE = `  --store=qemu:DIR  the store directory (OBuilder's form; a plain DIR works too)
                    default: $XDG_DATA_HOME/strata, i.e. ~/.local/share/strata
`;

/** The store directory from `--store` (`qemu:DIR` or `DIR`), else the XDG default. */
export function resolveStoreRoot(
  value: string | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
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

export function openStoreFor(value: string | undefined, io: CliIo): Promise<Store> {
  return openStore({ root: resolveStoreRoot(value, io.cwd), signal: io.signal });
}

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** `512`, `10M`, `1.5G`, `20GiB`, `3TB` (binary units) → bytes. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!match) {
    throw new UsageError(`option "${flag}": "${text}" is not a size; use e.g. 500M, 20G or 1T`);
  }
  return Math.floor(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!);
}

/** `0`..`100`, with or without a trailing `%`. */
export function parsePercent(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const value = match ? Number(match[1]) : Number.NaN;
  if (!(value >= 0 && value <= 100)) {
    throw new UsageError(`option "${flag}": "${text}" is not a percentage from 0 to 100`);
  }
  return value;
}

const DURATION_MS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** An ISO date or time (`2026-01-31`, `2026-01-31T12:00Z`), or an age (`30d`, `12h`, `2w`). */
export function parseDate(text: string, flag: string, now = Date.now()): Date {
  const age = /^(\d+)([mhdw])$/.exec(text.trim());
  if (age) return new Date(now - Number(age[1]) * DURATION_MS[age[2]!]!);
  const date = /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(
      `option "${flag}": "${text}" is not a date; use 2026-01-31, 2026-01-31T12:00Z or an age like 30d`,
    );
  }
  return date;
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

export function requireOne(positionals: readonly string[], what: string, command: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`expected exactly one ${what}; see "strata ${command} --help"`);
  }
  return positionals[0]!;
}
