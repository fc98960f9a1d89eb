import { describe, expect, it } from "vitest";
import { cachedDepth, chooseRoute, type RouteWorker, shouldSpill } from "./routing.js";

const chain = ["a", "b", "c", "d"];

function worker(name: string, layers: string[], extra: Partial<RouteWorker> = {}): RouteWorker {
  const set = new Set(layers);
  return {
    name,
    running: 0,
    queued: 0,
    capacity: 1,
    accepting: true,
    has: (id) => set.has(id),
    ...extra,
  };
}

describe("chooseRoute", () => {
  it("prefers the worker with the deepest cached prefix", () => {
    const route = chooseRoute([
      { worker: worker("w1", ["a"]), chain },
      { worker: worker("w2", ["a", "b", "c"]), chain },
      { worker: worker("w3", []), chain },
    ]);
    expect(route).toEqual({ kind: "worker", worker: "w2", depth: 3 });
  });

  it("sends a job nobody has any of to the pool", () => {
    expect(chooseRoute([{ worker: worker("w1", ["x"]), chain }])).toEqual({
      kind: "pool",
      reason: "no-cache",
    });
  });

  it("skips a worker at its load bound and falls back to a shallower one, then to the pool", () => {
    const busy = worker("deep", ["a", "b", "c", "d"], { running: 1, queued: 1 });
    const idle = [1, 2, 3].map((i) => ({ worker: worker(`idle${i}`, []), chain }));
    expect(chooseRoute([{ worker: busy, chain }, ...idle], { maxLoad: 2 })).toEqual({
      kind: "pool",
      reason: "overloaded",
    });
    const route = chooseRoute([
      { worker: busy, chain },
      { worker: worker("shallow", ["a"], { running: 1 }), chain },
      ...idle,
    ]);
    expect(route).toEqual({ kind: "worker", worker: "shallow", depth: 1 });
  });

  it("raises the bound to twice the pool's mean load when the whole pool is busy", () => {
    const loaded = (name: string, layers: string[], queued: number) => ({
      worker: worker(name, layers, { running: 1, queued }),
      chain,
    });
    // Mean load 3: the deep worker at load 4 is under 2 x 3 and keeps its affinity...
    const pool = [
      loaded("deep", chain, 3),
      loaded("x", [], 2),
      loaded("y", [], 2),
      loaded("z", [], 1),
    ];
    expect(chooseRoute(pool)).toEqual({ kind: "worker", worker: "deep", depth: 4 });
    // ...but not at load 8, more than twice the mean (4.25).
    const hot = [
      loaded("deep", chain, 7),
      loaded("x", [], 2),
      loaded("y", [], 2),
      loaded("z", [], 1),
    ];
    expect(chooseRoute(hot).kind).toBe("pool");
    expect(chooseRoute(hot, { relativeLoad: 0, maxLoad: 9 }).kind).toBe("worker");
  });

  it("breaks a depth tie by idleness, then by a stable per-layer choice that spreads layers", () => {
    // An idle worker wins over a busy one holding as much.
    const busyOrIdle = chooseRoute([
      { worker: worker("b", ["a"], { running: 1, capacity: 4 }), chain },
      { worker: worker("c", ["a"], { running: 0, capacity: 4 }), chain },
    ]);
    expect(busyOrIdle).toEqual({ kind: "worker", worker: "c", depth: 1 });
    // Among equals, the choice depends on the first uncached layer: the same layer always goes
    // to the same worker (where it is cached next time), different ones spread over the pool.
    const pool = Array.from({ length: 20 }, (_, i) => worker(`w${i}`, ["a"]));
    const home = (next: string) => {
      const r = chooseRoute(pool.map((w) => ({ worker: w, chain: ["a", next] })));
      return r.kind === "worker" ? r.worker : "pool";
    };
    expect(home("deps-1")).toBe(home("deps-1"));
    expect(
      chooseRoute([...pool].reverse().map((w) => ({ worker: w, chain: ["a", "deps-1"] }))),
    ).toMatchObject({ worker: home("deps-1") });
    const homes = new Set(Array.from({ length: 200 }, (_, i) => home(`deps-${i}`)));
    expect(homes.size).toBeGreaterThanOrEqual(15);
  });

  it("never routes to a paused or draining worker", () => {
    const route = chooseRoute([{ worker: worker("p", chain, { accepting: false }), chain }]);
    expect(route.kind).toBe("pool");
  });

  it("uses each worker's own chain (workers with different base images)", () => {
    const route = chooseRoute([
      { worker: worker("w1", ["a", "b"]), chain },
      { worker: worker("w2", ["x", "y", "z"]), chain: ["x", "y", "z"] },
    ]);
    expect(route).toEqual({ kind: "worker", worker: "w2", depth: 3 });
  });

  it("honours minDepth", () => {
    const route = chooseRoute([{ worker: worker("w1", ["a"]), chain }], { minDepth: 2 });
    expect(route.kind).toBe("pool");
  });
});

describe("cachedDepth and shouldSpill", () => {
  it("counts the prefix up to the deepest layer held", () => {
    expect(cachedDepth(worker("w", ["c"]), chain)).toBe(3);
    expect(cachedDepth(worker("w", []), chain)).toBe(0);
  });

  it("spills after the bound, or at once when the worker is gone or not accepting", () => {
    expect(shouldSpill(1000, { accepting: true }, 30_000)).toBe(false);
    expect(shouldSpill(30_000, { accepting: true }, 30_000)).toBe(true);
    expect(shouldSpill(0, undefined)).toBe(true);
    expect(shouldSpill(0, { accepting: false })).toBe(true);
  });
});
