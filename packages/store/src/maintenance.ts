import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { removeTree, type StoreContext, trashPath } from "./context.js";
import { deleteLayerRow, type LayerRow, selectAllLayers, selectLayer } from "./database.js";
import { filesystemSpace } from "./disk-usage.js";
import { LayerInUseError, LayerNotFoundError, StoreOptionsError } from "./errors.js";
import { DOWNLOADS_LEASE, liveLeases } from "./leases.js";
import { type PruneCandidate, planPrune, subtreePostOrder } from "./prune-plan.js";
import { collectLeftovers } from "./reconcile.js";

/** Criteria of {@link pruneLayers}; several may be combined. */
export interface PruneOptions {
  /** Only layers last used before this date. */
  before?: Date;
  /** Remove until this percentage of the store's filesystem is free. */
  keepFreePercent?: number;
  /** Remove until the layers take at most this many bytes. */
  maxSizeBytes?: number;
  /** Remove nothing; report what would be removed. @default false */
  dryRun?: boolean;
}

/** Options of {@link cleanStore}. */
export interface CleanOptions {
  /** Remove nothing; report what would be removed. @default false */
  dryRun?: boolean;
}

// What removing `ids` would free, without removing them (dry runs).
function measureLayers(ctx: StoreContext, ids: readonly string[]) {
  const bytes = ids.reduce((sum, id) => sum + (selectLayer(ctx.db, id)?.bytes ?? 0), 0);
  return { trash: [] as string[], bytes };
}

/** What a removal did. */
export interface RemovalReport {
  /** Removed layer IDs, in removal order (children before parents). */
  removed: string[];
  freedBytes: number;
}

function toCandidate(row: LayerRow): PruneCandidate {
  return {
    id: row.id,
    ...(row.parent === null ? {} : { parent: row.parent }),
    lastUsed: row.last_used,
    bytes: row.bytes,
  };
}

/**
 * Renames each layer away and drops its row, children first, inside the caller's critical
 * section: a crash in the middle leaves a smaller but still consistent tree.
 */
export function detachLayers(
  ctx: StoreContext,
  ids: readonly string[],
): { trash: string[]; bytes: number } {
  const trash: string[] = [];
  let bytes = 0;
  for (const id of ids) {
    bytes += selectLayer(ctx.db, id)?.bytes ?? 0;
    const dir = join(ctx.layout.resultDir, id);
    if (existsSync(dir)) {
      const to = trashPath(ctx);
      renameSync(dir, to);
      trash.push(to);
    }
    deleteLayerRow(ctx.db, id);
  }
  return { trash, bytes };
}

/**
 * `id` and every layer built on it, children before parents, after checking that no live
 * process holds a lease on any of them (else {@link LayerInUseError}). Run inside the mutex.
 */
export function unusedSubtree(ctx: StoreContext, id: string): string[] {
  const rows = selectAllLayers(ctx.db);
  if (!rows.some((row) => row.id === id)) throw new LayerNotFoundError(id);
  const order = subtreePostOrder(rows.map(toCandidate), id);
  const leases = liveLeases(ctx.db);
  for (const member of order) {
    const user = leases.get(member);
    if (user !== undefined) throw new LayerInUseError(member, user);
  }
  return order;
}

/** Removes `id` and everything built on it; refuses if a running build uses any of them. */
export async function deleteLayer(ctx: StoreContext, id: string): Promise<RemovalReport> {
  const { order, trash, bytes } = ctx.mutex(`deleting ${id}`, () => {
    const order = unusedSubtree(ctx, id);
    return { order, ...detachLayers(ctx, order) };
  });
  await Promise.all(trash.map(removeTree));
  return { removed: order, freedBytes: bytes };
}

function validatePruneOptions(options: PruneOptions): void {
  const { before, keepFreePercent, maxSizeBytes } = options;
  if (before !== undefined && Number.isNaN(before.getTime())) {
    throw new StoreOptionsError("prune: `before` is not a valid date.");
  }
  if (keepFreePercent !== undefined && !(keepFreePercent >= 0 && keepFreePercent <= 100)) {
    throw new StoreOptionsError(
      `prune: \`keepFreePercent\` must be 0..100, got ${keepFreePercent}.`,
    );
  }
  if (maxSizeBytes !== undefined && !(Number.isSafeInteger(maxSizeBytes) && maxSizeBytes >= 0)) {
    throw new StoreOptionsError(
      `prune: \`maxSizeBytes\` must be a whole number >= 0, got ${maxSizeBytes}.`,
    );
  }
  if (before === undefined && keepFreePercent === undefined && maxSizeBytes === undefined) {
    throw new StoreOptionsError(
      "prune: give at least one of `before`, `keepFreePercent` or `maxSizeBytes` (`clean` removes everything).",
    );
  }
}

/** Removes least-recently-used leaves first until the criteria hold; pinned layers stay. */
export async function pruneLayers(
  ctx: StoreContext,
  options: PruneOptions,
): Promise<RemovalReport> {
  validatePruneOptions(options);
  const filesystem = await filesystemSpace(ctx.layout.root);
  const { plan, trash, bytes } = ctx.mutex("pruning", () => {
    const plan = planPrune(selectAllLayers(ctx.db).map(toCandidate), {
      ...(options.before ? { before: options.before.getTime() } : {}),
      ...(options.maxSizeBytes === undefined ? {} : { maxSizeBytes: options.maxSizeBytes }),
      ...(options.keepFreePercent === undefined
        ? {}
        : { keepFreePercent: options.keepFreePercent }),
      filesystem,
      pinned: new Set(liveLeases(ctx.db).keys()),
    });
    return { plan, ...(options.dryRun ? measureLayers(ctx, plan) : detachLayers(ctx, plan)) };
  });
  await Promise.all(trash.map(removeTree));
  return { removed: plan, freedBytes: bytes };
}

/** What {@link cleanStore} did. */
export interface CleanReport extends RemovalReport {
  removedLeftovers: number;
}

/**
 * Removes every layer no running build uses, the leftovers of dead builders in `result-tmp/`
 * and `cache-tmp/`, and, when no pull is under way, the blobs killed or refused pulls left in
 * `download/` (kept until then so that a pull resumes). Caches (`cache/`) and base images are
 * kept.
 */
export async function cleanStore(
  ctx: StoreContext,
  options: CleanOptions = {},
): Promise<CleanReport> {
  const dryRun = options.dryRun ?? false;
  const { plan, trash, bytes, leftovers } = ctx.mutex("cleaning", () => {
    const leftovers = [
      ...collectLeftovers(ctx, ctx.layout.resultTmpDir, dryRun),
      ...collectLeftovers(ctx, ctx.layout.cacheTmpDir, dryRun),
    ];
    const pinned = new Set(liveLeases(ctx.db).keys());
    if (!pinned.has(DOWNLOADS_LEASE))
      leftovers.push(...collectLeftovers(ctx, ctx.layout.downloadDir, dryRun));
    const plan = planPrune(selectAllLayers(ctx.db).map(toCandidate), { pinned });
    return { plan, leftovers, ...(dryRun ? measureLayers(ctx, plan) : detachLayers(ctx, plan)) };
  });
  if (!dryRun) await Promise.all([...trash, ...leftovers].map(removeTree));
  return { removed: plan, freedBytes: bytes, removedLeftovers: leftovers.length };
}
