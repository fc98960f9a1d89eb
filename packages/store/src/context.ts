import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { withStoreMutex } from "./database.js";
import type { StoreLayout } from "./layout.js";
import { DEFAULT_LOCK_RULES, type LockRules } from "./lock-file.js";

/** What the store's internal modules share: paths, the database, settings. */
export interface StoreContext {
  readonly layout: StoreLayout;
  readonly db: Database.Database;
  readonly maxChainDepth: number;
  /** When a lock's owner counts as gone. */
  readonly lockRules: LockRules;
  /** Longest wait for a step that another process builds. */
  readonly stepWaitTimeoutMs: number;
  /** Runs a short synchronous critical section under the cross-process store mutex. */
  mutex<T>(doing: string, fn: () => T): T;
}

export function createContext(
  layout: StoreLayout,
  db: Database.Database,
  maxChainDepth: number,
  options: { lockRules?: LockRules; stepWaitTimeoutMs?: number } = {},
): StoreContext {
  return {
    layout,
    db,
    maxChainDepth,
    lockRules: options.lockRules ?? DEFAULT_LOCK_RULES,
    stepWaitTimeoutMs: options.stepWaitTimeoutMs ?? DEFAULT_STEP_WAIT_TIMEOUT_MS,
    mutex: (doing, fn) => withStoreMutex(db, doing, fn),
  };
}

/**
 * Waiting for a step that another process builds ends after this, with a `STEP_WAIT_TIMEOUT`
 * error: a live owner whose step runs longer than a working day is stuck. @default 43_200_000 (12 h)
 */
export const DEFAULT_STEP_WAIT_TIMEOUT_MS = 12 * 60 * 60 * 1000;

/** Prefix of directories renamed away for removal; never a layer ID, never has a lock. */
export const TRASH_PREFIX = "trash-";

/** A fresh path in `result-tmp/` to rename something into before removing it. */
export function trashPath(ctx: StoreContext): string {
  return join(ctx.layout.resultTmpDir, `${TRASH_PREFIX}${randomUUID()}`);
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}
