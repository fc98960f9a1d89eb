import { closeSync } from "node:fs";
import { join } from "node:path";
import { buildLockPath } from "./claim.js";
import type { StoreContext } from "./context.js";
import { selectLayer } from "./database.js";
import { StepCancelledError, StepFailedError, StepWaitTimeoutError } from "./errors.js";
import { LAYER_LOG } from "./layout.js";
import { isLockOwnerAlive, type LockOwner, readLockOwner } from "./lock-file.js";
import { tailFile } from "./log-tail.js";
import { describeProcess } from "./process-identity.js";
import type { BuildResult } from "./shared-run.js";

/**
 * Follows a step that another process is building: streams its log from the first byte until
 * the owner's lock goes away, then reads the outcome. Returns undefined when the caller should
 * try again: the owner was cancelled by all its clients, or died (its heartbeat stopped, for an
 * owner under another hostname). Throws {@link StepWaitTimeoutError} after `timeoutMs`.
 */
export async function waitForOtherProcess(
  ctx: StoreContext,
  id: string,
  claim: { owner: LockOwner; logFd: number | undefined },
  onLog: ((chunk: Buffer) => void) | undefined,
  signal: AbortSignal | undefined,
  timeoutMs: number = ctx.stepWaitTimeoutMs,
): Promise<BuildResult | undefined> {
  const lockPath = buildLockPath(ctx, id);
  const finished = () => {
    const owner = readLockOwner(lockPath);
    return owner?.token !== claim.owner.token || !isLockOwnerAlive(lockPath, owner, ctx.lockRules);
  };
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    await tailFile(claim.logFd, {
      onChunk: (chunk) => onLog?.(chunk),
      isFinished: finished,
      watchPath: join(ctx.layout.resultTmpDir, id, LAYER_LOG),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    if (signal?.aborted) throw new StepCancelledError(id, { cause: signal.reason });
    if (timeout.aborted) {
      throw new StepWaitTimeoutError(id, describeProcess(claim.owner), lockPath, timeoutMs);
    }
    throw error;
  } finally {
    if (claim.logFd !== undefined) closeSync(claim.logFd);
  }
  if (selectLayer(ctx.db, id)) return { id, cached: false, shared: true };
  const failure = ctx.db
    .prepare("SELECT cancelled, message FROM failures WHERE token = ?")
    .get(claim.owner.token) as { cancelled: number; message: string } | undefined;
  if (failure && failure.cancelled === 0) throw new StepFailedError(id, failure.message);
  return undefined;
}
