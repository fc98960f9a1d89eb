import { describe, expect, it } from "vitest";
import { type PruneCandidate, planPrune, subtreePostOrder } from "./prune-plan.js";

// root -> a -> a1, a2 ; root -> b   (lastUsed in brackets)
const layers: PruneCandidate[] = [
  { id: "root", lastUsed: 1, bytes: 100 },
  { id: "a", parent: "root", lastUsed: 2, bytes: 10 },
  { id: "a1", parent: "a", lastUsed: 5, bytes: 1 },
  { id: "a2", parent: "a", lastUsed: 3, bytes: 1 },
  { id: "b", parent: "root", lastUsed: 4, bytes: 1000 },
];

describe("planPrune", () => {
  it("removes leaves only, least recently used first, parents once they become leaves", () => {
    expect(planPrune(layers, {})).toEqual(["a2", "b", "a1", "a", "root"]);
  });

  it("stops as soon as the size limit holds", () => {
    expect(planPrune(layers, { maxSizeBytes: 1000 })).toEqual(["a2", "b"]);
    expect(planPrune(layers, { maxSizeBytes: 5000 })).toEqual([]);
  });

  it("frees until the percentage of free space is reached", () => {
    const filesystem = { free: 0, total: 10_000 };
    expect(planPrune(layers, { keepFreePercent: 10, filesystem })).toEqual(["a2", "b"]);
  });

  it("with `before`, only older layers go", () => {
    expect(planPrune(layers, { before: 4 })).toEqual(["a2"]);
  });

  it("never removes a pinned layer nor its ancestors", () => {
    expect(planPrune(layers, { pinned: new Set(["a1"]) })).toEqual(["a2", "b"]);
  });
});

describe("subtreePostOrder", () => {
  it("lists children before parents", () => {
    const order = subtreePostOrder(layers, "root");
    expect(order).toHaveLength(5);
    expect(order.at(-1)).toBe("root");
    expect(order.indexOf("a1")).toBeLessThan(order.indexOf("a"));
    expect(subtreePostOrder(layers, "a2")).toEqual(["a2"]);
  });
});
