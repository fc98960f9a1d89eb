import { setTimeout as delay } from "node:timers/promises";

/**
 * Waits `ms`; an abort rejects with the signal's own reason. Node's timer removes its abort
 * listener when it fires, so a poll or retry loop does not pile listeners on the signal.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch((err: unknown) => {
    throw signal?.aborted ? signal.reason : err;
  });
}
