import { describe, expect, it } from "vitest";
import {
  cachedDepth,
  chooseMove,
  chooseRoute,
  decayLoad,
  estimateJobMs,
  LOAD_WINDOW_MS,
  type RouteCandidate,
  type RouteWorker,
  readyDepth,
  shouldSpill,
} from "./routing.js";

const chain = ["setup", "deps", "pkg"];
/** Measured steps: the dependency step is the expensive one; the package step is not known yet. */
const stepMs = (id: string) => ({ setup: 0, deps: 590_000 })[id];
const options = { stepMs, defaultStepMs: 10_000 };

function worker(name: string, layers: string[], extra: Partial<RouteWorker> = {}): RouteWorker {
  const set = new Set(layers);
  return {
    name,
    running: 0,
    queued: 0,
    capacity: 1,
    accepting: true,
    backlogMs: 0,
    has: (id) => set.has(id),
    ...extra,
  };
}

const at = (w: RouteWorker, c: readonly string[] = chain): RouteCandidate => ({
  worker: w,
  chain: c,
});
const busy = (ms: number, queued = 0) => ({ running: 1, queued, backlogMs: ms });

describe("estimateJobMs", () => {
  it("counts the steps past the prefix held or pending, measured ones at their figure", () => {
    expect(estimateJobMs(worker("w", ["setup", "deps"]), chain, options)).toBe(10_000);
    expect(estimateJobMs(worker("w", ["setup"]), chain, options)).toBe(600_000);
    expect(estimateJobMs(worker("w", []), chain, options)).toBe(600_000);
    // A job queued there builds "deps" first: by the time this one runs, it is cached.
    const pending = worker("w", ["setup"], { pending: (id) => id === "deps" });
    expect(readyDepth(pending, chain)).toBe(2);
    expect(cachedDepth(pending, chain)).toBe(1);
    expect(estimateJobMs(pending, chain, options)).toBe(10_000);
    // Unmeasured steps take the default.
    expect(estimateJobMs(worker("w", []), ["x", "y"], { defaultStepMs: 7 })).toBe(14);
  });
});

describe("chooseRoute", () => {
  it("prefers the worker holding the chain, with its estimate", () => {
    const route = chooseRoute(
      [at(worker("w1", ["setup"])), at(worker("w2", chain.slice(0, 2))), at(worker("w3", []))],
      options,
    );
    expect(route).toEqual({ kind: "worker", worker: "w2", depth: 2, estimateMs: 10_000 });
  });

  it("waits for a busy worker holding the layers while that beats a miss elsewhere", () => {
    const cached = worker("cached", ["setup", "deps"], busy(900_000));
    const idle = worker("idle", ["setup"]);
    // Done in 910 s there; 600 s on the idle one, plus 3 x 590 s of work the fleet would redo.
    expect(chooseRoute([at(cached), at(idle)], options)).toMatchObject({ worker: "cached" });
    // With the penalty off, completion time alone decides.
    expect(chooseRoute([at(cached), at(idle)], { ...options, missPenalty: 0 })).toMatchObject({
      worker: "idle",
    });
    // A backlog past 600 + 3 x 590 s is worth a miss.
    const swamped = worker("cached", ["setup", "deps"], busy(2_500_000));
    expect(chooseRoute([at(swamped), at(idle)], options)).toMatchObject({ worker: "idle" });
  });

  it("counts a cheap queued job as cheap: the backlog, not the queue length", () => {
    const hits = worker("hits", ["setup", "deps"], busy(40_000, 3));
    const misses = worker("misses", ["setup", "deps"], busy(1_800_000, 1));
    expect(chooseRoute([at(misses), at(hits)], options)).toMatchObject({ worker: "hits" });
  });

  it("sends a job after one building its layers to that worker", () => {
    const builder = worker("builder", ["setup"], {
      ...busy(600_000),
      pending: (id) => id === "deps",
    });
    const idle = Array.from({ length: 5 }, (_, i) => at(worker(`idle${i}`, ["setup"])));
    expect(chooseRoute([...idle, at(builder)], options)).toMatchObject({ worker: "builder" });
  });

  it("skips a worker at its load bound, and uses the pool when all are", () => {
    const full = worker("deep", chain, busy(10_000, 3));
    const other = worker("other", [], busy(600_000, 1));
    expect(chooseRoute([at(full), at(other)], { ...options, maxLoad: 4 })).toMatchObject({
      worker: "deep",
    });
    expect(
      chooseRoute([at(full), at(other)], { ...options, maxLoad: 3, relativeLoad: 0 }),
    ).toMatchObject({ worker: "other" });
    expect(chooseRoute([at(full)], { ...options, maxLoad: 2, relativeLoad: 0 })).toEqual({
      kind: "pool",
      reason: "overloaded",
    });
  });

  it("raises the bound to twice the pool's mean load when the whole pool is busy", () => {
    const loaded = (name: string, layers: string[], queued: number) =>
      at(worker(name, layers, busy(10_000 * (queued + 1), queued)));
    // Mean load 4.25: the deep worker at load 8 is under 2 x 4.25 and keeps its affinity...
    const pool = [
      loaded("deep", chain, 7),
      loaded("x", [], 4),
      loaded("y", [], 4),
      loaded("z", [], 2),
    ];
    expect(chooseRoute(pool, { ...options, maxLoad: 4 })).toMatchObject({ worker: "deep" });
    // ...but not without the relative bound.
    expect(chooseRoute(pool, { ...options, maxLoad: 4, relativeLoad: 0 })).toMatchObject({
      worker: "z",
    });
  });

  it("breaks a tie by a stable per-layer choice that spreads layers", () => {
    // Among equals, the choice depends on the first layer to build: the same layer always goes
    // to the same worker, different ones spread over the pool.
    const pool = Array.from({ length: 20 }, (_, i) => worker(`w${i}`, ["setup"]));
    const home = (next: string) => {
      const r = chooseRoute(pool.map((w) => at(w, ["setup", next])));
      return r.kind === "worker" ? r.worker : "pool";
    };
    expect(home("deps-1")).toBe(home("deps-1"));
    expect(chooseRoute([...pool].reverse().map((w) => at(w, ["setup", "deps-1"])))).toMatchObject({
      worker: home("deps-1"),
    });
    const homes = new Set(Array.from({ length: 200 }, (_, i) => home(`deps-${i}`)));
    expect(homes.size).toBeGreaterThanOrEqual(15);
  });

  it("never routes to a paused or draining worker", () => {
    expect(chooseRoute([at(worker("p", chain, { accepting: false }))])).toEqual({
      kind: "pool",
      reason: "no-worker",
    });
  });

  it("uses each worker's own chain (workers with different base images)", () => {
    const route = chooseRoute(
      [at(worker("w1", ["setup"])), at(worker("w2", ["x", "y"]), ["x", "y", "z"])],
      options,
    );
    expect(route).toMatchObject({ worker: "w2", depth: 2 });
  });
});

describe("chooseRoute: load spread", () => {
  it("sends a job nobody has a prefix of to the least recently loaded idle worker, not the holder of a popular layer", () => {
    // All idle, all holding the setup step; "hot" holds the popular dependency layer, and the
    // hits it serves (and the ones that waited there) gave it the highest load of the last hour.
    const hot = worker("hot", ["setup", "deps-hot"], { recentLoad: 0.6 });
    const pool = [
      hot,
      ...Array.from({ length: 7 }, (_, i) => worker(`w${i}`, ["setup"], { recentLoad: 0.1 * i })),
    ];
    for (let i = 0; i < 100; i++) {
      const route = chooseRoute(
        pool.map((w) => at(w, ["setup", `deps-new-${i}`, `pkg-${i}`])),
        options,
      );
      // Every worker would take 600 s: the one least loaded lately takes it, whatever its layers.
      expect(route).toMatchObject({ kind: "worker", worker: "w0" });
    }
    // A hit still goes to the holder, however busy it was lately.
    expect(
      chooseRoute(
        pool.map((w) => at(w, ["setup", "deps-hot", "pkg"])),
        options,
      ),
    ).toMatchObject({ worker: "hot" });
    // A worker that published no recent load counts by its load now.
    const unknown = [
      worker("a", ["setup"], { capacity: 2, running: 1 }),
      worker("b", ["setup"], { capacity: 2 }),
    ];
    expect(
      chooseRoute(
        unknown.map((w) => at(w, ["setup", "deps-x"])),
        options,
      ),
    ).toMatchObject({
      worker: "b",
    });
  });

  it("keeps every worker under twice the mean queue on a trace with a popular layer", () => {
    // Ten workers for six hours: a job on the popular layer every 60 s, one on a layer nobody
    // has every 600 s (Poisson). The rule before this one, misses placed by the rendezvous hash
    // alone, put misses on the popular layer's holder and left its hits waiting behind them:
    // 2.50x the mean queue on this trace; this rule: 1.52x.
    const r = simulateSpread({
      workers: 10,
      hitEvery: 60,
      missEvery: 600,
      seconds: 6 * 3600,
      seed: 3,
    });
    const mean = r.queues.reduce((a, b) => a + b, 0) / r.queues.length;
    expect(Math.max(...r.queues)).toBeLessThanOrEqual(2 * mean);
    // Not by giving up affinity: the popular layer's jobs still hit.
    expect(r.hotHits / r.hotJobs).toBeGreaterThan(0.95);
  });
});

describe("decayLoad", () => {
  it("averages a worker's load over about the last hour", () => {
    expect(decayLoad(0, 1, LOAD_WINDOW_MS)).toBeCloseTo(1 - Math.exp(-1), 12);
    expect(decayLoad(0.5, 2, 0)).toBe(0.5);
    expect(decayLoad(0.5, 2, -1000)).toBe(0.5);
    // Heartbeats every 3 s: a steady load is reached, a past one forgotten.
    let recent = 0;
    for (let t = 0; t < 10 * 3600; t += 3) recent = decayLoad(recent, 2, 3000);
    expect(recent).toBeCloseTo(2, 3);
    for (let t = 0; t < 3600; t += 3) recent = decayLoad(recent, 0, 3000);
    expect(recent).toBeCloseTo(2 * Math.exp(-1), 3);
  });
});

/**
 * A small fleet of capacity-1 workers driven by chooseRoute on a deterministic trace, in
 * one-second ticks: on average every `hitEvery` s a job on the popular layer "deps-hot" (held
 * by w0 from the start; 10 s on a worker holding it), every `missEvery` s a job on a layer
 * nobody has (600 s); workers hold their last 9 layers. Returns each
 * worker's queue (running and waiting jobs) averaged over the run, the measure of the fleet's
 * load-spread goal, and how many jobs on the popular layer hit.
 */
function simulateSpread(o: {
  workers: number;
  hitEvery: number;
  missEvery: number;
  seconds: number;
  seed: number;
}) {
  interface Job {
    readonly chain: string[];
    estimateMs: number;
    left?: number;
  }
  const ws = Array.from({ length: o.workers }, (_, i) => ({
    name: `w${i}`,
    layers: new Set(i === 0 ? ["setup", "deps-hot"] : ["setup"]),
    queue: [] as Job[],
    running: undefined as Job | undefined,
    area: 0,
    recentLoad: 0,
  }));
  const DISK_LAYERS = 9;
  // A fixed pseudo-random sequence (an LCG): Poisson arrivals, the same on every run.
  let state = o.seed;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  let nextHit = 0;
  let nextMiss = 0;
  // What workers published: every dependency step took 590 s, the setup step nothing.
  const spreadOptions = {
    stepMs: (id: string) => (id === "setup" ? 0 : id.startsWith("deps-") ? 590_000 : undefined),
    defaultStepMs: 10_000,
  };
  let hotJobs = 0;
  let hotHits = 0;
  const start = (w: (typeof ws)[number]) => {
    const job = w.queue.shift();
    if (!job) return;
    const hit = w.layers.has(job.chain[1]!);
    if (job.chain[1] === "deps-hot") {
      hotJobs++;
      if (hit) hotHits++;
    }
    job.left = hit ? 10 : 600;
    // A small disk, least recently used out first: only steady use keeps a layer.
    for (const id of job.chain) {
      w.layers.delete(id);
      w.layers.add(id);
    }
    while (w.layers.size > DISK_LAYERS) w.layers.delete(w.layers.values().next().value!);
    w.running = job;
  };
  for (let t = 0; t < o.seconds; t++) {
    for (const w of ws) {
      if (w.running && --w.running.left! <= 0) w.running = undefined;
      if (!w.running) start(w);
    }
    const arriving: string[][] = [];
    for (; nextHit <= t; nextHit += -Math.log(1 - random()) * o.hitEvery)
      arriving.push(["setup", "deps-hot", `pkg-${t}-${arriving.length}`]);
    for (; nextMiss <= t; nextMiss += -Math.log(1 - random()) * o.missEvery)
      arriving.push(["setup", `deps-${t}-${arriving.length}`, `pkg-${t}-${arriving.length}`]);
    for (const chain of arriving) {
      const views = ws.map((w) =>
        at(
          worker(w.name, [...w.layers], {
            running: w.running ? 1 : 0,
            queued: w.queue.length,
            backlogMs:
              (w.running ? Math.min(w.running.left!, w.running.estimateMs / 1000) * 1000 : 0) +
              w.queue.reduce((sum, j) => sum + j.estimateMs, 0),
            recentLoad: w.recentLoad,
            pending: (id) => w.queue.some((j) => j.chain.includes(id)),
          }),
          chain,
        ),
      );
      const route = chooseRoute(views, spreadOptions);
      if (route.kind !== "worker") throw new Error(`routed to the pool (${route.reason})`);
      const w = ws.find((x) => x.name === route.worker)!;
      w.queue.push({ chain, estimateMs: route.estimateMs });
      if (!w.running) start(w);
    }
    for (const w of ws) {
      const load = w.queue.length + (w.running ? 1 : 0);
      w.area += load;
      w.recentLoad = decayLoad(w.recentLoad, load, 1000);
    }
  }
  return { queues: ws.map((w) => w.area / o.seconds), hotJobs, hotHits };
}

describe("chooseMove", () => {
  const waiting = (w: RouteWorker, startsInMs: number) => ({ current: at(w), startsInMs });

  it("moves a job to a free worker holding its layers when it would wait there", () => {
    const here = worker("here", chain, busy(300_000, 1));
    const free = worker("free", ["setup", "deps"]);
    expect(chooseMove(waiting(here, 300_000), [at(here), at(free)], options)).toBe("free");
    // Not when the free worker lacks the layers and the wait is shorter than the miss would cost.
    const cold = worker("cold", []);
    expect(chooseMove(waiting(here, 300_000), [at(here), at(cold)], options)).toBeUndefined();
    // Nor to a busy worker, a paused one, or itself.
    const others = [
      at(worker("busy", chain, busy(1))),
      at(worker("paused", chain, { accepting: false })),
      at(here),
    ];
    expect(chooseMove(waiting(here, 300_000), others, options)).toBeUndefined();
  });

  it("moves even to a miss when the wait there outweighs the miss's cost", () => {
    const here = worker("here", chain, busy(3_000_000, 5));
    const cold = worker("cold", []);
    expect(chooseMove(waiting(here, 3_000_000), [at(cold)], options)).toBe("cold");
  });
});

describe("shouldSpill", () => {
  it("spills after the bound, or at once when the worker is gone or not accepting", () => {
    expect(shouldSpill(1000, { accepting: true }, 30_000)).toBe(false);
    expect(shouldSpill(30_000, { accepting: true }, 30_000)).toBe(true);
    expect(shouldSpill(0, undefined)).toBe(true);
    expect(shouldSpill(0, { accepting: false })).toBe(true);
  });
});
