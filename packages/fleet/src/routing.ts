/**
 * Where a job goes: pure functions on plain data, driven by the submitter and by
 * bench/fleet-sim.mjs. A job prefers the worker holding the deepest cached prefix of its layer
 * chain, as long as that worker's load is under a bound (among equals: an idle one, then the
 * rendezvous-hash choice for the first uncached layer, so that jobs sharing that layer meet on
 * one worker and hit its cache next time); otherwise it goes to the pool queue,
 * which any free worker of the pool takes from. A job that waits on its preferred worker too
 * long spills to the pool (OCluster #249, #168: one host overloaded by cache hints while others
 * starve). Affinity is a speed-up, never a requirement: any worker can build any job.
 */

/** What routing needs to know of one worker. */
export interface RouteWorker {
  readonly name: string;
  /** Jobs running now. */
  readonly running: number;
  /** Jobs waiting in the worker's own queue. */
  readonly queued: number;
  readonly capacity: number;
  /** Whether the worker takes jobs (alive, not paused, not draining). */
  readonly accepting: boolean;
  /** Whether its store holds a layer. */
  has(layerId: string): boolean;
}

/** One worker and the job's chain of step layer IDs as that worker's base image makes it. */
export interface RouteCandidate {
  readonly worker: RouteWorker;
  readonly chain: readonly string[];
}

export interface RouteOptions {
  /**
   * A worker is preferred only while (running + queued) / capacity is below this.
   * @default DEFAULT_MAX_LOAD
   */
  readonly maxLoad?: number;
  /**
   * A worker is also preferred while its load is under this many times the pool's mean load:
   * under heavy load the bound grows with the fleet, so affinity survives, yet no worker gets
   * more than its share (OCluster #249). 0 turns it off.
   * @default DEFAULT_RELATIVE_LOAD
   */
  readonly relativeLoad?: number;
  /**
   * Fewest cached steps that make a worker worth waiting for; below it the pool decides.
   * @default 1
   */
  readonly minDepth?: number;
}

/** (running + queued) / capacity under which a worker still gets jobs routed to it. */
export const DEFAULT_MAX_LOAD = 2;
/** Multiple of the pool's mean load a preferred worker may carry. */
export const DEFAULT_RELATIVE_LOAD = 2;
/** How long a job may wait in its preferred worker's queue before it spills to the pool. */
export const DEFAULT_SPILL_AFTER_MS = 600_000;

export type Route =
  | { readonly kind: "worker"; readonly worker: string; readonly depth: number }
  | { readonly kind: "pool"; readonly reason: "no-cache" | "overloaded" };

/** Steps of `chain`, from the start, that the worker holds: the deepest layer it has wins. */
export function cachedDepth(worker: RouteWorker, chain: readonly string[]): number {
  // A layer is only ever stored with all its ancestors, so the deepest one held gives the prefix.
  for (let i = chain.length - 1; i >= 0; i--) if (worker.has(chain[i]!)) return i + 1;
  return 0;
}

export function workerLoad(w: Pick<RouteWorker, "running" | "queued" | "capacity">): number {
  return (w.running + w.queued) / Math.max(1, w.capacity);
}

/**
 * A stable pseudo-random weight of a (layer, worker) pair (FNV-1a): rendezvous hashing. Among
 * workers holding the same prefix, the one weighing most for the job's first uncached layer
 * builds it, so jobs that share that layer meet on the same worker and find it cached next time.
 */
function rendezvous(key: string, worker: string): number {
  let h = 0x811c9dc5;
  const text = `${key}\0${worker}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  // A final avalanche: FNV alone weighs names that differ in the last character too alike.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/**
 * Chooses the worker with the deepest cached prefix whose load is under the bound (ties: the
 * rendezvous weight of the first uncached layer, then the name); the pool when nobody holds
 * enough of the chain or every worker that does is overloaded.
 */
export function chooseRoute(candidates: readonly RouteCandidate[], o: RouteOptions = {}): Route {
  const minDepth = o.minDepth ?? 1;
  const live = candidates.filter((c) => c.worker.accepting);
  const meanLoad =
    live.length === 0 ? 0 : live.reduce((sum, c) => sum + workerLoad(c.worker), 0) / live.length;
  const maxLoad = Math.max(
    o.maxLoad ?? DEFAULT_MAX_LOAD,
    (o.relativeLoad ?? DEFAULT_RELATIVE_LOAD) * meanLoad,
  );
  let best: { name: string; depth: number; idle: boolean; weight: number } | undefined;
  let overloaded = false;
  for (const { worker, chain } of live) {
    const depth = cachedDepth(worker, chain);
    if (depth < minDepth) continue;
    const load = workerLoad(worker);
    if (load >= maxLoad) {
      overloaded = true;
      continue;
    }
    const idle = load === 0;
    const weight = rendezvous(chain[depth] ?? "", worker.name);
    if (
      best === undefined ||
      depth > best.depth ||
      (depth === best.depth &&
        (idle > best.idle ||
          (idle === best.idle &&
            (weight > best.weight || (weight === best.weight && worker.name < best.name)))))
    )
      best = { name: worker.name, depth, idle, weight };
  }
  if (best) return { kind: "worker", worker: best.name, depth: best.depth };
  return { kind: "pool", reason: overloaded ? "overloaded" : "no-cache" };
}

/** Whether a job still waiting in a worker's queue should move to the pool queue. */
export function shouldSpill(
  waitedMs: number,
  worker: { readonly accepting: boolean } | undefined,
  spillAfterMs = DEFAULT_SPILL_AFTER_MS,
): boolean {
  return worker === undefined || !worker.accepting || waitedMs >= spillAfterMs;
}
