/**
 * Where a job goes: pure functions on plain data, driven by the submitter, by the follower (to
 * move a waiting job) and by bench/fleet-sim.mjs. Each worker under the load bound is scored by
 * when the job would be done there: the work already ahead of it, plus the job's cost there (the
 * steps past the deepest prefix it holds or will hold once its running and queued jobs ran, at
 * their measured durations), plus a penalty for the work a miss adds to the fleet (steps another
 * worker would not rebuild). The lowest score wins; among equals (typically idle workers facing a job nobody
 * has a prefix of), the worker whose load was lowest over the last hour, so a long miss does not
 * land on a worker that cache hits keep busy; exact ties go to the rendezvous-hash choice for
 * the first layer to build. A job goes to the pool queue only when every worker is at its load
 * bound. Affinity is a speed-up, never a requirement: any worker can build any job.
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
  /** Estimated milliseconds of work ahead on the worker: the rest of its running jobs and its queued ones. */
  readonly backlogMs: number;
  /**
   * Its load `(running + queued) / capacity` averaged over about the last hour (see
   * `decayLoad`), as it published it: among workers that score the same, the lowest takes the
   * job. @default its load now
   */
  readonly recentLoad?: number;
  /** Whether its store holds a layer. */
  has(layerId: string): boolean;
  /**
   * Whether a job running there or waiting in its queue (ahead of this one) builds the layer
   * first. @default never
   */
  pending?(layerId: string): boolean;
}

/** One worker and the job's chain of step layer IDs as that worker's base image makes it. */
export interface RouteCandidate {
  readonly worker: RouteWorker;
  readonly chain: readonly string[];
}

export interface RouteOptions {
  /**
   * A worker gets jobs only while (running + queued) / capacity is below this.
   * @default DEFAULT_MAX_LOAD
   */
  readonly maxLoad?: number;
  /**
   * The bound is also this many times the pool's mean load: under heavy load the bound grows
   * with the fleet, so affinity survives, yet no worker gets more than its share (OCluster
   * #249). 0 turns it off.
   * @default DEFAULT_RELATIVE_LOAD
   */
  readonly relativeLoad?: number;
  /**
   * Weight of the extra work a worker lacking the job's layers adds to the fleet, against the
   * time the job waits: 3 means a cache hit is worth waiting up to three times the work a miss
   * would add. 0 routes by completion time alone.
   * @default DEFAULT_MISS_PENALTY
   */
  readonly missPenalty?: number;
  /** Measured duration of a step by its layer ID, when some worker built it. @default none known */
  readonly stepMs?: (layerId: string) => number | undefined;
  /**
   * Duration assumed for a step nobody has measured.
   * @default DEFAULT_STEP_MS
   */
  readonly defaultStepMs?: number;
}

/** (running + queued) / capacity under which a worker still gets jobs routed to it. */
export const DEFAULT_MAX_LOAD = 4;
/** Multiple of the pool's mean load a worker may carry. */
export const DEFAULT_RELATIVE_LOAD = 2;
/** How much a cache miss's extra work weighs against waiting. */
export const DEFAULT_MISS_PENALTY = 3;
/** Duration assumed for a step no worker has built yet. */
export const DEFAULT_STEP_MS = 60_000;
/** How long a job may wait in its worker's queue before it goes to the pool whatever the estimates say. */
export const DEFAULT_SPILL_AFTER_MS = 3600_000;
/** The time constant of a worker's recent load: about the last hour counts. */
export const LOAD_WINDOW_MS = 3600_000;

export type Route =
  | {
      readonly kind: "worker";
      readonly worker: string;
      /** Steps of the chain the worker holds now. */
      readonly depth: number;
      /** The job's estimated cost there, for the backlog of jobs routed after it. */
      readonly estimateMs: number;
    }
  | { readonly kind: "pool"; readonly reason: "no-worker" | "overloaded" };

/** Steps of `chain`, from the start, that the worker holds: the deepest layer it has wins. */
export function cachedDepth(worker: Pick<RouteWorker, "has">, chain: readonly string[]): number {
  // A layer is only ever stored with all its ancestors, so the deepest one held gives the prefix.
  for (let i = chain.length - 1; i >= 0; i--) if (worker.has(chain[i]!)) return i + 1;
  return 0;
}

/**
 * Steps of `chain` the worker holds or will hold before the job runs (a running or queued job
 * builds them).
 */
export function readyDepth(
  worker: Pick<RouteWorker, "has" | "pending">,
  chain: readonly string[],
): number {
  for (let i = chain.length - 1; i >= 0; i--)
    if (worker.has(chain[i]!) || worker.pending?.(chain[i]!)) return i + 1;
  return 0;
}

export function workerLoad(w: Pick<RouteWorker, "running" | "queued" | "capacity">): number {
  return (w.running + w.queued) / Math.max(1, w.capacity);
}

/**
 * A worker's recent load, updated with the load it had for the last `elapsedMs`: an average
 * that forgets exponentially, with time constant `windowMs`. A worker calls this at each
 * heartbeat and publishes the result as `recentLoad`; it is, over the window, the queue measure
 * the fleet's load-spread goal counts (running and waiting jobs, time-averaged).
 */
export function decayLoad(
  previous: number,
  load: number,
  elapsedMs: number,
  windowMs = LOAD_WINDOW_MS,
): number {
  if (!(elapsedMs > 0)) return previous;
  return load + (previous - load) * Math.exp(-elapsedMs / windowMs);
}

/** The job's estimated cost on a worker: the steps past its ready prefix. */
export function estimateJobMs(
  worker: Pick<RouteWorker, "has" | "pending">,
  chain: readonly string[],
  o: RouteOptions = {},
): number {
  let ms = 0;
  for (let i = readyDepth(worker, chain); i < chain.length; i++)
    ms += o.stepMs?.(chain[i]!) ?? o.defaultStepMs ?? DEFAULT_STEP_MS;
  return ms;
}

/** When a job added now would start on the worker, in ms from now. */
function startsInMs(w: RouteWorker): number {
  if (w.running + w.queued < w.capacity) return 0;
  return w.backlogMs / Math.max(1, w.capacity);
}

/**
 * A stable pseudo-random weight of a (layer, worker) pair (FNV-1a): rendezvous hashing. Among
 * workers that score the same, the one weighing most for the job's first layer to build takes
 * it, so jobs that share that layer meet on the same worker and find it cached next time.
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

interface Scored {
  readonly name: string;
  readonly depth: number;
  readonly estimateMs: number;
  readonly score: number;
  readonly recentLoad: number;
  readonly weight: number;
}

/**
 * Whether `a` beats `b`: the lower score; among equal scores the lower recent load (a worker
 * that hits keep busy keeps its time for them); then the rendezvous weight, then the name.
 */
function better(a: Scored, b: Scored | undefined): boolean {
  if (b === undefined || a.score < b.score) return true;
  if (a.score > b.score) return false;
  if (a.recentLoad !== b.recentLoad) return a.recentLoad < b.recentLoad;
  return a.weight > b.weight || (a.weight === b.weight && a.name < b.name);
}

/** Scores candidates: start + cost + penalty × (cost − the cheapest cost anywhere). */
function score(
  candidates: readonly RouteCandidate[],
  startsIn: (w: RouteWorker) => number,
  o: RouteOptions,
): Scored[] {
  const costs = candidates.map((c) => estimateJobMs(c.worker, c.chain, o));
  const cheapest = Math.min(...costs);
  const penalty = o.missPenalty ?? DEFAULT_MISS_PENALTY;
  return candidates.map(({ worker, chain }, i) => {
    const cost = costs[i]!;
    return {
      name: worker.name,
      depth: cachedDepth(worker, chain),
      estimateMs: cost,
      score: startsIn(worker) + cost + penalty * (cost - cheapest),
      recentLoad: worker.recentLoad ?? workerLoad(worker),
      weight: rendezvous(chain[readyDepth(worker, chain)] ?? "", worker.name),
    };
  });
}

/**
 * Chooses the accepting worker under the load bound where the job is done soonest, a miss
 * weighing its extra work (see RouteOptions.missPenalty), the least recently loaded among equals;
 * the pool when every worker is at the bound or none is accepting.
 */
export function chooseRoute(candidates: readonly RouteCandidate[], o: RouteOptions = {}): Route {
  const live = candidates.filter((c) => c.worker.accepting);
  if (live.length === 0) return { kind: "pool", reason: "no-worker" };
  const meanLoad = live.reduce((sum, c) => sum + workerLoad(c.worker), 0) / live.length;
  const bound = Math.max(
    o.maxLoad ?? DEFAULT_MAX_LOAD,
    (o.relativeLoad ?? DEFAULT_RELATIVE_LOAD) * meanLoad,
  );
  // The cheapest cost counts every live worker: one at its bound still shows a miss elsewhere is one.
  const scored = score(live, startsInMs, o);
  let best: Scored | undefined;
  for (const [i, s] of scored.entries())
    if (workerLoad(live[i]!.worker) < bound && better(s, best)) best = s;
  if (!best) return { kind: "pool", reason: "overloaded" };
  return { kind: "worker", worker: best.name, depth: best.depth, estimateMs: best.estimateMs };
}

/** A job waiting in a worker's queue, as the follower sees it. */
export interface WaitingJob {
  /** Its worker, whose `pending` counts only the jobs ahead of it. */
  readonly current: RouteCandidate;
  /** Estimated milliseconds until it starts where it is. */
  readonly startsInMs: number;
}

/**
 * Where a waiting job should move: a worker with a free slot where, by the same score as
 * chooseRoute, it would be done sooner than where it waits; undefined to stay.
 */
export function chooseMove(
  job: WaitingJob,
  others: readonly RouteCandidate[],
  o: RouteOptions = {},
): string | undefined {
  const free = others.filter(
    (c) =>
      c.worker.accepting &&
      c.worker.name !== job.current.worker.name &&
      c.worker.running + c.worker.queued < c.worker.capacity,
  );
  if (free.length === 0) return undefined;
  const all = [job.current, ...free];
  const scored = score(all, (w) => (w === job.current.worker ? job.startsInMs : 0), o);
  const [stay, ...moves] = scored;
  let best: Scored | undefined;
  for (const s of moves) if (better(s, best)) best = s;
  return best && best.score < stay!.score ? best.name : undefined;
}

/**
 * Whether a job still waiting in a worker's queue should move to the pool queue: at once when
 * the worker is gone or not accepting, and after `spillAfterMs` whatever the estimates say (an
 * estimate can be wrong: a step hangs until its watchdog).
 */
export function shouldSpill(
  waitedMs: number,
  worker: { readonly accepting: boolean } | undefined,
  spillAfterMs = DEFAULT_SPILL_AFTER_MS,
): boolean {
  return worker === undefined || !worker.accepting || waitedMs >= spillAfterMs;
}
