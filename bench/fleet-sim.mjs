// Scheduler simulation: the fleet's real routing code (chooseRoute, shouldSpill from
// @strata/fleet) against OCluster's rule, on 100 simulated workers and 10,000 jobs whose specs
// share prefixes as opam-repository CI's do: a few base images, an opam setup step on each,
// dependency sets shared by many packages, one step per package on top.
// Run after `pnpm build`: node bench/fleet-sim.mjs [--jobs N] [--workers N] [--seed N]
import { parseArgs } from "node:util";
import { chooseRoute, DEFAULT_SPILL_AFTER_MS, shouldSpill } from "../packages/fleet/dist/index.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "10000" },
    workers: { type: "string", default: "100" },
    seed: { type: "string", default: "42" },
    rate: { type: "string", default: "0.3" },
    "spill-after": { type: "string" },
    "max-load": { type: "string" },
  },
});
const JOBS = Number(values.jobs);
/** Routing parameters: the fleet's defaults unless given. */
const SPILL_AFTER_MS = values["spill-after"]
  ? Number(values["spill-after"]) * 1000
  : DEFAULT_SPILL_AFTER_MS;
const ROUTE_OPTIONS = values["max-load"] ? { maxLoad: Number(values["max-load"]) } : {};
const WORKERS = Number(values.workers);
/** Jobs arriving per second (Poisson). */
const RATE = Number(values.rate);
/** The cost model: a job whose prefix is cached takes 10 s, otherwise 600 s. */
const CACHED_S = 10;
const UNCACHED_S = 600;
/** Layers a worker's disk holds (least recently used go first). */
const CACHE_LAYERS = 60;
const BASES = [
  "debian-12-ocaml-4.14",
  "debian-12-ocaml-5.2",
  "ubuntu-24.04-ocaml-5.2",
  "alpine-ocaml-5.2",
];
const BASE_WEIGHTS = [0.4, 0.3, 0.2, 0.1];
const DEP_SETS = 150;
const PACKAGES = 3000;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The job trace: arrival times and layer chains, the same for every policy. */
function makeTrace(seed) {
  const rand = mulberry32(seed);
  // Zipf-like popularity: a few dependency sets (dune, ocamlfind...) are in most builds.
  const zipf = (n) => Math.min(n - 1, Math.floor(n ** rand() - 1));
  const pick = (weights) => {
    let r = rand();
    for (const [i, w] of weights.entries()) {
      r -= w;
      if (r < 0) return i;
    }
    return weights.length - 1;
  };
  const jobs = [];
  let t = 0;
  for (let i = 0; i < JOBS; i++) {
    t += -Math.log(1 - rand()) / RATE;
    const b = BASES[pick(BASE_WEIGHTS)];
    const pkg = zipf(PACKAGES);
    const deps = pkg % DEP_SETS;
    // base → opam setup → dependencies → the package: the last step always runs.
    const chain = [`${b}/setup`, `${b}/deps-${deps}`, `${b}/pkg-${pkg}-${i}`];
    jobs.push({ id: i, arrival: t, chain, hint: chain[1] });
  }
  return jobs;
}

class Lru {
  #map = new Map();
  has(id) {
    return this.#map.has(id);
  }
  touch(id) {
    this.#map.delete(id);
    this.#map.set(id, true);
    if (this.#map.size > CACHE_LAYERS) this.#map.delete(this.#map.keys().next().value);
  }
}

class Heap {
  #a = [];
  push(x) {
    const a = this.#a;
    a.push(x);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p].t <= a[i].t) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop() {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].t < a[m].t) m = l;
        if (r < a.length && a[r].t < a[m].t) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
  get size() {
    return this.#a.length;
  }
}

/**
 * Runs one policy over the trace. `route(job, now)` returns a worker index or -1 (the pool).
 * Workers take their own queue first, then the pool, one job at a time.
 */
function simulate(trace, policy) {
  const workers = Array.from({ length: WORKERS }, (_, i) => ({
    i,
    name: `w${String(i).padStart(3, "0")}`,
    busyUntil: 0,
    running: null,
    queue: [],
    cache: new Lru(),
    queueArea: 0,
    lastChange: 0,
    busy: 0,
  }));
  const pool = [];
  const events = new Heap();
  const done = [];
  for (const job of trace) events.push({ t: job.arrival, kind: "arrive", job });
  const account = (w, now) => {
    w.queueArea += (w.queue.length + (w.running ? 1 : 0)) * (now - w.lastChange);
    w.lastChange = now;
  };
  const start = (w, job, now) => {
    account(w, now);
    const hit = w.cache.has(job.chain[1]);
    const cost = hit ? CACHED_S : UNCACHED_S;
    for (const id of job.chain) w.cache.touch(id);
    w.running = job;
    w.busy += cost;
    Object.assign(job, { start: now, worker: w.i, hit });
    events.push({ t: now + cost, kind: "finish", w });
    policy.onStart?.(w, job);
  };
  const takeNext = (w, now) => {
    if (w.running) return;
    account(w, now);
    const job = w.queue.shift() ?? pool.shift();
    if (job) {
      job.where = w.i;
      start(w, job, now);
    }
  };
  const view = (w) => ({
    name: w.name,
    running: w.running ? 1 : 0,
    queued: w.queue.length,
    capacity: 1,
    accepting: true,
    has: (id) => w.cache.has(id),
  });
  let now = 0;
  while (events.size > 0) {
    const e = events.pop();
    now = e.t;
    if (e.kind === "arrive") {
      const target = policy.route(e.job, workers, view, now);
      if (target === -1) {
        e.job.where = "pool";
        pool.push(e.job);
        const idle = workers.find((w) => !w.running);
        if (idle) takeNext(idle, now);
      } else {
        const w = workers[target];
        account(w, now);
        e.job.where = target;
        e.job.enqueued = now;
        w.queue.push(e.job);
        if (!w.running) takeNext(w, now);
        else if (policy.spill)
          events.push({ t: now + SPILL_AFTER_MS / 1000, kind: "spill", job: e.job, w });
      }
    } else if (e.kind === "spill") {
      const { job, w } = e;
      if (job.where !== w.i || job.start !== undefined) continue;
      if (!shouldSpill((now - job.enqueued) * 1000, { accepting: true }, SPILL_AFTER_MS)) continue;
      account(w, now);
      w.queue.splice(w.queue.indexOf(job), 1);
      job.where = "pool";
      job.spilled = true;
      pool.push(job);
      const idle = workers.find((x) => !x.running);
      if (idle) takeNext(idle, now);
    } else {
      const w = e.w;
      account(w, now);
      done.push(w.running);
      w.running = null;
      takeNext(w, now);
    }
  }
  for (const w of workers) account(w, now);
  const waits = done.map((j) => j.start - j.arrival).sort((a, b) => a - b);
  const queueMeans = workers.map((w) => w.queueArea / now);
  const meanQueue = queueMeans.reduce((a, b) => a + b, 0) / WORKERS;
  return {
    hitRate: done.filter((j) => j.hit).length / done.length,
    meanWait: waits.reduce((a, b) => a + b, 0) / waits.length,
    p95Wait: waits[Math.floor(waits.length * 0.95)],
    maxQueueOverMean: Math.max(...queueMeans) / meanQueue,
    overTwice: queueMeans.filter((q) => q > 2 * meanQueue).length,
    spilled: done.filter((j) => j.spilled).length,
    makespanH: now / 3600,
  };
}

/** strata: the fleet's chooseRoute over every worker, spill-over after DEFAULT_SPILL_AFTER_MS. */
const strata = {
  name: "strata (inventory, load bound, spill)",
  spill: true,
  route(job, workers, view) {
    const r = chooseRoute(
      workers.map((w) => ({ worker: view(w), chain: job.chain })),
      ROUTE_OPTIONS,
    );
    return r.kind === "worker" ? Number(r.worker.slice(1)) : -1;
  },
};

/** OCluster: a hint sticks to the least-loaded worker that saw it; else the least loaded. */
function ocluster() {
  const seen = new Map();
  const load = (w) => w.queue.length + (w.running ? 1 : 0);
  const least = (ws) => ws.reduce((a, b) => (load(b) < load(a) ? b : a));
  return {
    name: "OCluster (hint sticks to least-loaded worker that saw it)",
    spill: false,
    route(job, workers) {
      const saw = seen.get(job.hint);
      const w = saw ? least([...saw].map((i) => workers[i])) : least(workers);
      if (!seen.has(job.hint)) seen.set(job.hint, new Set());
      seen.get(job.hint).add(w.i);
      return w.i;
    },
  };
}

/** Baseline: one FIFO pool, no affinity at all. */
const fifo = { name: "pool only (no affinity)", spill: false, route: () => -1 };

const trace = makeTrace(Number(values.seed));
console.log(
  `fleet-sim: ${WORKERS} workers (capacity 1, ${CACHE_LAYERS} layers each), ${JOBS} jobs at ${RATE}/s; ` +
    `${BASES.length} bases, ${DEP_SETS} dependency sets, ${PACKAGES} packages; cached ${CACHED_S} s, uncached ${UNCACHED_S} s`,
);
const rows = [];
for (const policy of [strata, ocluster(), fifo]) {
  const fresh = trace.map((j) => ({ ...j }));
  const started = performance.now();
  const r = simulate(fresh, policy);
  rows.push({ policy: policy.name, ...r, simMs: performance.now() - started });
}
const fmt = (n, d = 1) => n.toFixed(d);
console.log(
  [
    "policy".padEnd(58),
    "hit rate",
    "mean wait",
    "p95 wait",
    "max/mean queue",
    ">2x mean",
    "spilled",
    "makespan",
  ].join("  "),
);
for (const r of rows)
  console.log(
    [
      r.policy.padEnd(58),
      `${fmt(r.hitRate * 100)} %`.padStart(8),
      `${fmt(r.meanWait)} s`.padStart(9),
      `${fmt(r.p95Wait)} s`.padStart(8),
      fmt(r.maxQueueOverMean, 2).padStart(14),
      String(r.overTwice).padStart(8),
      String(r.spilled).padStart(7),
      `${fmt(r.makespanH, 2)} h`.padStart(8),
    ].join("  "),
  );
const firstSight = new Set(trace.map((j) => j.chain[1])).size;
console.log(
  `ceiling: ${firstSight} jobs are the first of their dependency set anywhere (a miss under any policy): at most ${fmt((1 - firstSight / trace.length) * 100)} %`,
);
const [s, o] = rows;
const goal = s.hitRate > o.hitRate && s.overTwice === 0;
console.log(
  `goal (higher hit rate than OCluster's rule and no worker above 2x the mean queue): ${goal ? "met" : "NOT met"}`,
);
