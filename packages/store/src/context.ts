import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { withStoreMutex } from "./database.js";
import type { StoreLayout } from "./layout.js";

/** What the store's internal modules share: paths, the database, settings. */
export interface StoreContext {
  readonly layout: StoreLayout;
  readonly db: Database.Database;
  readonly maxChainDepth: number;
  /** Runs a short synchronous critical section under the cross-process store mutex. */
  mutex<T>(doing: string, fn: () => T): T;
}

export function createContext(
  layout: StoreLayout,
  db: Database.Database,
  maxChainDepth: number,
): StoreContext {
  return {
    layout,
    db,
    maxChainDepth,
    mutex: (doing, fn) => withStoreMutex(db, doing, fn),
  };
}

/** Prefix of directories renamed away for removal; never a layer ID, never has a lock. */
export const TRASH_PREFIX = "trash-";

/** A fresh path in `result-tmp/` to rename something into before removing it. */
export function trashPath(ctx: StoreContext): string {
  return join(ctx.layout.resultTmpDir, `${TRASH_PREFIX}${randomUUID()}`);
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}
