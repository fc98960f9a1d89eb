import { existsSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { removeTree, type StoreContext, TRASH_PREFIX, trashPath } from "./context.js";
import { deleteLayerRow, recountAllChildren, selectAllLayers, upsertLayer } from "./database.js";
import { isLayerId } from "./layer-id.js";
import { metaToRow, readLayerMeta } from "./layer-meta.js";
import { LAYER_IMAGE, LAYER_META } from "./layout.js";
import { liveLeases } from "./leases.js";
import { isLockHeld } from "./lock-file.js";

/** Failure records only serve waiters that are still polling; an hour is plenty. */
const FAILURE_RECORD_TTL_MS = 60 * 60 * 1000;

/** Records `result/<id>` in the database from its meta.json. Run inside the store mutex. */
export function adoptLayerDir(ctx: StoreContext, id: string): boolean {
  const dir = join(ctx.layout.resultDir, id);
  const meta = readLayerMeta(join(dir, LAYER_META), id);
  if (!meta || !existsSync(join(dir, LAYER_IMAGE))) return false;
  upsertLayer(ctx.db, metaToRow(meta));
  return true;
}

/**
 * Moves the entries of a scratch directory (`result-tmp/`, `cache-tmp/`) that no live process
 * owns into the trash; `X` is owned when `X.lock` names a live process. Returns what to remove.
 * Run inside the store mutex, so that no builder takes a lock between our check and the rename.
 */
export function collectLeftovers(ctx: StoreContext, dir: string, dryRun = false): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const trash: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry);
    if (entry.endsWith(".lock")) {
      if (!dryRun && !isLockHeld(path, ctx.lockRules)) unlinkSync(path);
      continue;
    }
    if (!entry.startsWith(TRASH_PREFIX) && isLockHeld(`${path}.lock`, ctx.lockRules)) continue;
    const to = dir === ctx.layout.resultTmpDir ? trashPath(ctx) : `${path}.removing`;
    if (dryRun || entry.startsWith(TRASH_PREFIX) || entry.endsWith(".removing")) trash.push(path);
    else {
      renameSync(path, to);
      trash.push(to);
    }
  }
  return trash;
}

/** What start-up recovery found and fixed. */
export interface RecoveryReport {
  removedLeftovers: number;
  droppedRows: string[];
  adoptedDirs: string[];
  /** Directories in `result/` without a row and without readable metadata: see `store check`. */
  unknownDirs: string[];
}

/**
 * Start-up recovery: makes the database and the directories agree after any crash. Leftovers of
 * dead builders are removed; rows whose directory is gone are dropped; directories renamed into
 * `result/` just before a crash are adopted from their meta.json.
 */
export async function recoverStore(ctx: StoreContext): Promise<RecoveryReport> {
  const report: RecoveryReport = {
    removedLeftovers: 0,
    droppedRows: [],
    adoptedDirs: [],
    unknownDirs: [],
  };
  const trash = ctx.mutex("recovering the store", () => {
    const leftovers = [
      ...collectLeftovers(ctx, ctx.layout.resultTmpDir),
      ...collectLeftovers(ctx, ctx.layout.cacheTmpDir),
    ];
    const rows = new Set(selectAllLayers(ctx.db).map((row) => row.id));
    const dirs = new Set(readdirSync(ctx.layout.resultDir));
    for (const id of rows) {
      if (dirs.has(id)) continue;
      deleteLayerRow(ctx.db, id);
      report.droppedRows.push(id);
    }
    for (const id of dirs) {
      if (rows.has(id)) continue;
      if (isLayerId(id) && adoptLayerDir(ctx, id)) report.adoptedDirs.push(id);
      else report.unknownDirs.push(id);
    }
    recountAllChildren(ctx.db);
    liveLeases(ctx.db);
    ctx.db.prepare("DELETE FROM failures WHERE at < ?").run(Date.now() - FAILURE_RECORD_TTL_MS);
    return leftovers;
  });
  report.removedLeftovers = trash.length;
  await Promise.all(trash.map(removeTree));
  return report;
}
