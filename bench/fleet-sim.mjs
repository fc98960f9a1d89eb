// Scheduler simulation: the fleet's real routing code (chooseRoute, chooseMove, shouldSpill from
// @strata/fleet) against OCluster's rule, on 100 simulated workers and 10,000 jobs whose specs
// share prefixes as opam-repository CI's do: a few base images, an opam setup step on each,
// dependency sets shared by many packages, one step per package on top.
// Run after `pnpm build`: node bench/fleet-sim.mjs [--jobs N] [--workers N] [--seed N|1-10,42]
// With several seeds it ends with one Markdown row per seed (the table in docs/fleet.md).
import { parseArgs } from "node:util";
import {
  chooseMove,
  chooseRoute,
  DEFAULT_SPILL_AFTER_MS,
  decayLoad,
  estimateJobMs,
  LOAD_WINDOW_MS,
  MOVE_CHECK_MS,
  shouldSpill,
} from "../packages/fleet/dist/index.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "10000" },
    workers: { type: "string", default: "100" },
    seed: { type: "string", default: "42" },
    rate: { type: "string", default: "0.3" },
    "spill-after": { type: "string" },
    "max-load": { type: "string" },
    "miss-penalty": { type: "string" },
  },
});
const JOBS = Number(values.jobs);
/** Routing parameters: the fleet's defaults unless given. */
const SPILL_AFTER_MS = values["spill-after"]
  ? Number(values["spill-after"]) * 1000
  : DEFAULT_SPILL_AFTER_MS;
const ROUTE_OPTIONS = {
  ...(values["max-load"] ? { maxLoad: Number(values["max-load"]) } : {}),
  ...(values["miss-penalty"] ? { missPenalty: Number(values["miss-penalty"]) } : {}),
};
/** How often a follower looks for a better worker for its waiting job, as followJob does. */
const MOVE_CHECK_S = MOVE_CHECK_MS / 1000;
const WORKERS = Number(values.workers);
/** Jobs arriving per second (Poisson). */
const RATE = Number(values.rate);
/**
 * The cost model: a job whose prefix is cached takes 10 s, otherwise 600 s. As steps: the
 * package step 10 s, the dependency step 590 s, the setup step free. Workers publish what a step
 * took when they build it; routing reads those figures and assumes DEFAULT_STEP_MS for the rest.
 */
const CACHED_S = 10;
const UNCACHED_S = 600;
const STEP_S = [0, UNCACHED_S - CACHED_S, CACHED_S];
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
 * Runs one policy over the trace. `route(job, fleet, now)` returns a worker index or -1 (the
 * pool); `move(job, w, fleet, now)`, when the policy has one, is asked every MOVE_CHECK_S while
 * a job waits in a worker's queue and returns undefined (stay), -1 (the pool) or a worker index.
 * Workers take their own queue first, then the pool, one job at a time.
 */
function simulate(trace, policy) {
  const workers = Array.from({ length: WORKERS }, (_, i) => ({
    i,
    name: `w${String(i).padStart(3, "0")}`,
    running: null,
    queue: [],
    cache: new Lru(),
    queueArea: 0,
    waitArea: 0,
    recentLoad: 0,
    lastChange: 0,
  }));
  /** What workers publish of the steps they built: layer ID → seconds it took. */
  const stepSeconds = new Map();
  const fleet = { workers, stepSeconds };
  const pool = [];
  const events = new Heap();
  const done = [];
  for (const job of trace) events.push({ t: job.arrival, kind: "arrive", job });
  // Queue area (running and waiting jobs over time), and the recent load a worker publishes.
  const account = (w, now) => {
    const load = w.queue.length + (w.running ? 1 : 0);
    w.queueArea += load * (now - w.lastChange);
    w.waitArea += w.queue.length * (now - w.lastChange);
    w.recentLoad = decayLoad(w.recentLoad, load, (now - w.lastChange) * 1000);
    w.lastChange = now;
  };
  const start = (w, job, now) => {
    account(w, now);
    const hit = w.cache.has(job.chain[1]);
    const cost = hit ? CACHED_S : UNCACHED_S;
    job.built = job.chain.filter((id) => !w.cache.has(id));
    for (const id of job.chain) w.cache.touch(id);
    w.running = job;
    Object.assign(job, { start: now, worker: w.i, hit });
    events.push({ t: now + cost, kind: "finish", w });
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
  const enqueue = (job, target, now) => {
    if (target === -1) {
      job.where = "pool";
      pool.push(job);
      const idle = workers.find((w) => !w.running);
      if (idle) takeNext(idle, now);
      return;
    }
    const w = workers[target];
    account(w, now);
    job.where = target;
    job.enqueued = now;
    w.queue.push(job);
    if (!w.running) takeNext(w, now);
    else if (policy.move) events.push({ t: now + MOVE_CHECK_S, kind: "check", job, w });
  };
  let now = 0;
  while (events.size > 0) {
    const e = events.pop();
    now = e.t;
    if (e.kind === "arrive") enqueue(e.job, policy.route(e.job, fleet, now), now);
    else if (e.kind === "check") {
      const { job, w } = e;
      if (job.where !== w.i || job.start !== undefined) continue;
      const to = policy.move(job, w, fleet, now);
      if (to === undefined) {
        events.push({ t: now + MOVE_CHECK_S, kind: "check", job, w });
        continue;
      }
      account(w, now);
      w.queue.splice(w.queue.indexOf(job), 1);
      job.spilled = true;
      enqueue(job, to, now);
    } else {
      const w = e.w;
      account(w, now);
      const job = w.running;
      done.push(job);
      for (const id of job.built) stepSeconds.set(id, STEP_S[job.chain.indexOf(id)]);
      w.running = null;
      takeNext(w, now);
    }
  }
  for (const w of workers) account(w, now);
  const waits = done.map((j) => j.start - j.arrival).sort((a, b) => a - b);
  const queueMeans = workers.map((w) => w.queueArea / now);
  const meanQueue = queueMeans.reduce((a, b) => a + b, 0) / WORKERS;
  const waitAreas = workers.map((w) => w.waitArea);
  const meanWaitArea = waitAreas.reduce((a, b) => a + b, 0) / WORKERS;
  return {
    hitRate: done.filter((j) => j.hit).length / done.length,
    meanWait: waits.reduce((a, b) => a + b, 0) / waits.length,
    p95Wait: waits[Math.floor(waits.length * 0.95)],
    maxQueueOverMean: Math.max(...queueMeans) / meanQueue,
    overTwice: queueMeans.filter((q) => q > 2 * meanQueue).length,
    maxWaitingOverMean: Math.max(...waitAreas) / meanWaitArea,
    spilled: done.filter((j) => j.spilled).length,
    makespanH: now / 3600,
  };
}

/**
 * A worker as a submitter reads it from Redis: its record (running, capacity, the layers its
 * running job builds), its queue (length; the chains and estimates of the jobs waiting in it,
 * `ahead` of a given job when one is named) and its layer inventory. The backlog is the
 * submitters' estimates, not the true costs.
 */
function view(w, now, ahead) {
  const queued = ahead === undefined ? w.queue : w.queue.slice(0, w.queue.indexOf(ahead));
  const running = w.running
    ? Math.max(0, w.running.estimateMs - (now - w.running.start) * 1000)
    : 0;
  // The layers its queued jobs and its running one build: the inventory lists a layer only once
  // it is built, and a worker publishes its running jobs' chains (`building`).
  const building = w.running ? new Set(w.running.built) : new Set();
  const pending = new Set([...queued, ...(w.running ? [w.running] : [])].flatMap((j) => j.chain));
  // As a worker publishes it at each heartbeat (here exact): its load up to now, decayed.
  const recentLoad = decayLoad(
    w.recentLoad,
    w.queue.length + (w.running ? 1 : 0),
    (now - w.lastChange) * 1000,
  );
  return {
    name: w.name,
    running: w.running ? 1 : 0,
    // As readRouteCandidates counts them: for a job in the queue, only the ones ahead of it.
    queued: queued.length,
    capacity: 1,
    accepting: true,
    backlogMs: running + queued.reduce((sum, j) => sum + j.estimateMs, 0),
    recentLoad,
    has: (id) => w.cache.has(id) && !building.has(id),
    pending: (id) => pending.has(id),
  };
}

/** strata: the fleet's chooseRoute over every worker; chooseMove and shouldSpill while a job waits. */
const strata = {
  name: "strata (inventory, completion estimate, move)",
  route(job, { workers, stepSeconds }, now) {
    const r = chooseRoute(
      workers.map((w) => ({ worker: view(w, now), chain: job.chain })),
      routeOptions(stepSeconds),
    );
    // An estimate for jobs routed after it; one in the pool is nobody's backlog until it starts.
    job.estimateMs = r.kind === "worker" ? r.estimateMs : 0;
    return r.kind === "worker" ? Number(r.worker.slice(1)) : -1;
  },
  move(job, w, { workers, stepSeconds }, now) {
    if (shouldSpill((now - job.enqueued) * 1000, { accepting: true }, SPILL_AFTER_MS)) return -1;
    const current = { worker: view(w, now, job), chain: job.chain };
    const to = chooseMove(
      { current, startsInMs: current.worker.backlogMs },
      workers.map((x) => ({ worker: view(x, now), chain: job.chain })),
      routeOptions(stepSeconds),
    );
    if (to === undefined) return undefined;
    const target = Number(to.slice(1));
    job.estimateMs = estimateJobMs(
      view(workers[target], now),
      job.chain,
      routeOptions(stepSeconds),
    );
    return target;
  },
};

function routeOptions(stepSeconds) {
  return {
    ...ROUTE_OPTIONS,
    stepMs: (id) => (stepSeconds.has(id) ? stepSeconds.get(id) * 1000 : undefined),
  };
}

/** OCluster: a hint sticks to the least-loaded worker that saw it; else the least loaded. */
function ocluster() {
  const seen = new Map();
  const load = (w) => w.queue.length + (w.running ? 1 : 0);
  const least = (ws) => ws.reduce((a, b) => (load(b) < load(a) ? b : a));
  return {
    name: "OCluster (hint sticks to least-loaded worker that saw it)",
    route(job, { workers }) {
      const saw = seen.get(job.hint);
      const w = saw ? least([...saw].map((i) => workers[i])) : least(workers);
      if (!seen.has(job.hint)) seen.set(job.hint, new Set());
      seen.get(job.hint).add(w.i);
      return w.i;
    },
  };
}

/** Baseline: one FIFO pool, no affinity at all. */
const fifo = { name: "pool only (no affinity)", route: () => -1 };

/** `--seed 42`, `--seed 1-10,42`: the seeds to run, each a trace of its own. */
function parseSeeds(text) {
  const seeds = [];
  for (const part of text.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`--seed: "${part}" is not a number or a range N-M`);
    for (let n = Number(m[1]); n <= Number(m[2] ?? m[1]); n++) seeds.push(n);
  }
  return seeds;
}

const fmt = (n, d = 1) => (Number.isNaN(n) ? "-" : n.toFixed(d));
const pct = (n) => `${fmt(n * 100)} %`;

/** Runs every policy on one seed's trace and prints the table; returns strata's and OCluster's rows. */
function runSeed(seed) {
  const trace = makeTrace(seed);
  console.log(`\nseed ${seed}`);
  const rows = [];
  for (const policy of [strata, ocluster(), fifo]) {
    const fresh = trace.map((j) => ({ ...j }));
    const r = simulate(fresh, policy);
    rows.push({ policy: policy.name, ...r });
  }
  console.log(
    [
      "policy".padEnd(58),
      "hit rate",
      "mean wait",
      "p95 wait",
      "max/mean queue",
      ">2x mean",
      "max/mean waiting",
      "spilled",
      "makespan",
    ].join("  "),
  );
  for (const r of rows)
    console.log(
      [
        r.policy.padEnd(58),
        pct(r.hitRate).padStart(8),
        `${fmt(r.meanWait)} s`.padStart(9),
        `${fmt(r.p95Wait)} s`.padStart(8),
        fmt(r.maxQueueOverMean, 2).padStart(14),
        String(r.overTwice).padStart(8),
        fmt(r.maxWaitingOverMean, 2).padStart(16),
        String(r.spilled).padStart(7),
        `${fmt(r.makespanH, 2)} h`.padStart(8),
      ].join("  "),
    );
  const firstSight = new Set(trace.map((j) => j.chain[1])).size;
  const ceiling = 1 - firstSight / trace.length;
  console.log(
    `ceiling: ${firstSight} jobs are the first of their dependency set anywhere (a miss under any policy): at most ${pct(ceiling)}`,
  );
  const [s, o] = rows;
  const hits = s.hitRate > o.hitRate;
  const spread = s.overTwice === 0;
  console.log(
    `goal, hit rate above OCluster's rule: ${hits ? "PASS" : "FAIL"} (${pct(s.hitRate)} vs ${pct(o.hitRate)})`,
  );
  console.log(
    `goal, no worker above 2x the mean queue: ${spread ? "PASS" : "FAIL"} (${s.overTwice} above; the busiest ${fmt(s.maxQueueOverMean, 2)}x)`,
  );
  console.log(`goal: ${hits && spread ? "met" : "NOT met"}`);
  return { seed, s, o, ceiling, met: hits && spread };
}

console.log(
  `fleet-sim: ${WORKERS} workers (capacity 1, ${CACHE_LAYERS} layers each), ${JOBS} jobs at ${RATE}/s; ` +
    `${BASES.length} bases, ${DEP_SETS} dependency sets, ${PACKAGES} packages; cached ${CACHED_S} s, uncached ${UNCACHED_S} s; ` +
    `recent load over ${LOAD_WINDOW_MS / 60_000} min`,
);
const results = parseSeeds(values.seed).map(runSeed);
if (results.length > 1) {
  const cells = (r) => [
    r.seed,
    pct(r.s.hitRate),
    pct(r.o.hitRate),
    `${fmt(r.s.meanWait, 0)} s / ${fmt(r.s.p95Wait, 0)} s`,
    `${fmt(r.o.meanWait, 0)} s / ${fmt(r.o.p95Wait, 0)} s`,
    `${fmt(r.s.maxQueueOverMean, 2)}, ${fmt(r.o.maxQueueOverMean, 2)}`,
    `${r.s.overTwice}, ${r.o.overTwice}`,
    `${fmt(r.s.maxWaitingOverMean, 2)}, ${fmt(r.o.maxWaitingOverMean, 2)}`,
    r.met ? "met" : "NOT met",
  ];
  const head = [
    "seed",
    "strata hits",
    "OCluster hits",
    "strata mean / p95 wait",
    "OCluster mean / p95 wait",
    "busiest / mean queue: strata, OCluster",
    "workers > 2× mean: strata, OCluster",
    "busiest / mean waiting only: strata, OCluster",
    "both goals",
  ];
  console.log(`\n| ${head.join(" | ")} |`);
  console.log(`| ${head.map(() => "---").join(" | ")} |`);
  for (const r of results) console.log(`| ${cells(r).join(" | ")} |`);
  const met = results.filter((r) => r.met).length;
  console.log(`\nboth goals met on ${met} of ${results.length} seeds`);
}
