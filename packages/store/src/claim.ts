import { existsSync, mkdirSync, openSync, renameSync } from "node:fs";
import { join } from "node:path";
import { type StoreContext, trashPath } from "./context.js";
import { selectLayer } from "./database.js";
import { LAYER_LOG, LAYER_ROOTFS } from "./layout.js";
import { type LockOwner, tryAcquireLockFile } from "./lock-file.js";
import { unusedSubtree } from "./maintenance.js";
import { adoptLayerDir } from "./reconcile.js";

/** The outcome of trying to become the one process that builds a layer. */
type Claim =
  | { kind: "done" }
  | { kind: "owner"; owner: LockOwner; logFd: number; trash: string[]; replaces: boolean }
  | { kind: "waiter"; owner: LockOwner; logFd: number | undefined };

export function buildLockPath(ctx: StoreContext, id: string): string {
  return join(ctx.layout.resultTmpDir, `${id}.lock`);
}

/**
 * Under the store mutex, either finds the layer finished, takes its build lock, or attaches to
 * the live builder. The owner prepares `result-tmp/<id>/` and its log inside the same critical
 * section, so a waiter that sees the lock held always opens that owner's fresh log, never a dead
 * run's leftover.
 *
 * With `rebuild`, a finished layer is claimed like a missing one, but left in place (valid,
 * usable) until the new one is complete; it is refused at once with `LAYER_IN_USE` when a live
 * process holds it or a layer built on it, since the commit would have to remove them.
 */
export function claimBuild(ctx: StoreContext, id: string, rebuild = false): Claim {
  return ctx.mutex(`claiming ${id}`, (): Claim => {
    const exists = selectLayer(ctx.db, id) !== undefined || adoptLayerDir(ctx, id);
    if (exists && !rebuild) return { kind: "done" };
    if (exists) unusedSubtree(ctx, id);
    const tmp = join(ctx.layout.resultTmpDir, id);
    const lock = tryAcquireLockFile(buildLockPath(ctx, id), ctx.lockRules);
    if ("heldBy" in lock) {
      let logFd: number | undefined;
      try {
        logFd = openSync(join(tmp, LAYER_LOG), "r");
      } catch {
        logFd = undefined;
      }
      return { kind: "waiter", owner: lock.heldBy, logFd };
    }
    const trash: string[] = [];
    // A directory left without a row (a crash after the rename but before the row was saved,
    // if its metadata was unreadable) or a dead run's leftover must not be mixed with our files.
    for (const stale of exists ? [tmp] : [tmp, join(ctx.layout.resultDir, id)]) {
      if (!existsSync(stale)) continue;
      const to = trashPath(ctx);
      renameSync(stale, to);
      trash.push(to);
    }
    mkdirSync(join(tmp, LAYER_ROOTFS), { recursive: true });
    const logFd = openSync(join(tmp, LAYER_LOG), "ax");
    return { kind: "owner", owner: lock.acquired, logFd, trash, replaces: exists };
  });
}
