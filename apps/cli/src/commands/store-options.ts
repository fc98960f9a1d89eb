import { formatBytes, resolveStoreRoot, STORE_OPTION } from "@strata/cli-kit";
// The work-dir entry alone: the CLI does not load the image builders.
import { reapStaleLeftovers } from "@strata/image-builder/work-dir";
import { openStore, type Store } from "@strata/store";

export { formatBytes, resolveStoreRoot, STORE_OPTION };

import type { CliIo } from "@strata/cli-kit";
import { UsageError } from "../errors.js";

/**
 * Opens the store of `--store`, after cleaning up what killed strata processes left: their VMs,
 * temp directories and image work directories (openStore recovers `result-tmp/` itself).
 */
export async function openStoreFor(value: string | undefined, io: CliIo): Promise<Store> {
  const root = resolveStoreRoot(value, io.cwd, io.env);
  const reaped = await reapStaleLeftovers(root);
  if (reaped.vms.length > 0) {
    io.stderr.write(
      `strata: stopped ${reaped.vms.length} VM(s) left running by a killed strata process\n`,
    );
  }
  return openStore({ root, signal: io.signal });
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

export function requireOne(positionals: readonly string[], what: string, command: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(`expected exactly one ${what}; see "strata ${command} --help"`);
  }
  return positionals[0]!;
}
