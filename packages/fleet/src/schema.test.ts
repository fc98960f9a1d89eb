import { describe, expect, it } from "vitest";
import { FleetMessageInvalidError } from "./errors.js";
import {
  FLEET_PROTOCOL,
  parseFleetEvent,
  parseJobData,
  parseStepMs,
  parseWorkerRecord,
} from "./schema.js";

const LAYER = "a".repeat(64);
const WEEK_MS = 7 * 24 * 3600_000;

/** A worker's hash as a current worker publishes it. */
function record(extra: Record<string, string> = {}): Record<string, string> {
  return {
    name: "w1",
    pool: "default",
    instance: "i-1",
    capacity: "2",
    running: "1",
    jobs: JSON.stringify(["job-1"]),
    freeDisk: "1000",
    layerCount: "3",
    lastSeen: "1700000000000",
    startedAt: "1690000000000",
    bases: JSON.stringify([{ name: "tiny", layerId: LAYER, os: "linux", shell: ["/bin/sh"] }]),
    ...extra,
  };
}

function jobData(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: FLEET_PROTOCOL,
    id: "job-1",
    pool: "default",
    spec: { file: "build.spec", text: "((from tiny))" },
    context: { kind: "redis", sha256: LAYER, bytes: 10 },
    secrets: [],
    options: {},
    deadlineMs: 1000,
    watchdogMs: 1000,
    submittedAt: 1,
    submitter: "host",
    chain: [LAYER],
    ...extra,
  };
}

describe("parseWorkerRecord: runningEnds", () => {
  it("reads the end times a worker published", () => {
    const r = parseWorkerRecord(record({ runningEnds: "[1700000060000,1700000120000]" }));
    expect(r.runningEnds).toEqual([1700000060000, 1700000120000]);
    expect(r.ignored).toBeUndefined();
  });

  it("takes a record of an older worker (no runningEnds) as no running estimate", () => {
    const r = parseWorkerRecord(record());
    expect(r.runningEnds).toEqual([]);
    expect(r.ignored).toBeUndefined();
  });

  it.each([
    ["not JSON", "[1,", /not JSON/],
    ["an object", '{"a":1}', /not a list of end times/],
    ["a negative time", "[-5]", /not a list of end times/],
    ["a fraction", "[1.5]", /not a list of end times/],
    ["a string", '["1700000060000"]', /not a list of end times/],
    ["a time past year 2286", "[1e16]", /not a list of end times/],
    ["too many", JSON.stringify(Array.from({ length: 1001 }, () => 1)), /not a list/],
  ])("ignores %s with a reason, and keeps the worker", (_, value, reason) => {
    const r = parseWorkerRecord(record({ runningEnds: value }));
    expect(r.runningEnds).toEqual([]);
    expect(r.ignored).toHaveLength(1);
    expect(r.ignored?.[0]).toMatch(/^runningEnds: /);
    expect(r.ignored?.[0]).toMatch(reason);
    // The rest of the record is intact: the worker still routes and shows in `fleet ls`.
    expect(r.name).toBe("w1");
    expect(r.capacity).toBe(2);
  });

  it("still refuses a record whose required fields are malformed", () => {
    expect(() => parseWorkerRecord(record({ capacity: "zero", runningEnds: "[]" }))).toThrow(
      FleetMessageInvalidError,
    );
  });
});

describe("parseWorkerRecord: building", () => {
  it("reads the layers a worker's running jobs build, and none from an older worker", () => {
    const ids = [LAYER, "b".repeat(64)];
    expect(parseWorkerRecord(record({ building: JSON.stringify(ids) })).building).toEqual(ids);
    expect(parseWorkerRecord(record()).building).toEqual([]);
  });

  it.each([
    ["not JSON", "[1,", /not JSON/],
    ["an object", '{"a":1}', /not a list of layer IDs/],
    ["a short ID", '["abc"]', /not a list of layer IDs/],
    ["too many", JSON.stringify(Array.from({ length: 10_001 }, () => LAYER)), /not a list/],
  ])("ignores %s with a reason, and keeps the worker", (_, value, reason) => {
    const r = parseWorkerRecord(record({ building: value }));
    expect(r.building).toEqual([]);
    expect(r.ignored).toEqual([expect.stringMatching(reason)]);
    expect(r.ignored?.[0]).toMatch(/^building: /);
    expect(r.name).toBe("w1");
  });
});

describe("parseWorkerRecord: recentLoad", () => {
  it("reads the recent load a worker published, and none from an older worker", () => {
    expect(parseWorkerRecord(record({ recentLoad: "0.273415" })).recentLoad).toBe(0.273415);
    expect(parseWorkerRecord(record({ recentLoad: "3" })).recentLoad).toBe(3);
    const older = parseWorkerRecord(record());
    expect(older.recentLoad).toBeUndefined();
    expect(older.ignored).toBeUndefined();
  });

  it.each([
    ["a negative load", "-0.5"],
    ["an exponent", "1e-7"],
    ["not a number", "busy"],
    ["an empty string", ""],
    ["too large", "2000000"],
  ])("ignores %s with a reason, and keeps the worker", (_, value) => {
    const r = parseWorkerRecord(record({ recentLoad: value }));
    expect(r.recentLoad).toBeUndefined();
    expect(r.ignored).toEqual([expect.stringMatching(/^recentLoad: not a load/)]);
    expect(r.name).toBe("w1");
  });

  it("lists both problems when runningEnds is malformed too", () => {
    const r = parseWorkerRecord(record({ recentLoad: "x", runningEnds: "[1," }));
    expect(r.ignored).toHaveLength(2);
  });
});

describe("parseStepMs", () => {
  it("reads a whole number of ms up to a week", () => {
    expect(parseStepMs("0")).toBe(0);
    expect(parseStepMs("590000")).toBe(590_000);
    expect(parseStepMs(String(WEEK_MS))).toBe(WEEK_MS);
  });

  it.each([
    ["missing", null],
    ["empty", ""],
    ["negative", "-1"],
    ["a fraction", "1.5"],
    ["hex", "0x10"],
    ["padded", " 10"],
    ["exponent", "1e3"],
    ["over a week", String(WEEK_MS + 1)],
    ["huge", "9".repeat(40)],
  ])("takes %s as unknown, so routing assumes its default", (_, value) => {
    expect(parseStepMs(value)).toBeUndefined();
  });
});

describe("parseJobData: estimateMs", () => {
  it("accepts a job without an estimate (an older submitter) and one with a sane one", () => {
    expect(parseJobData(jobData()).estimateMs).toBeUndefined();
    expect(parseJobData(jobData({ estimateMs: 600_000 })).estimateMs).toBe(600_000);
  });

  it.each([
    ["negative", -1],
    ["a fraction", 1.5],
    ["a string", "600000"],
    ["over a week", WEEK_MS + 1],
    ["null", null],
  ])("fails that job when it is %s, naming the field", (_, value) => {
    let error: unknown;
    try {
      parseJobData(jobData({ estimateMs: value }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FleetMessageInvalidError);
    expect((error as FleetMessageInvalidError).problems.join("\n")).toMatch(/^estimateMs: /m);
  });
});

describe("parseFleetEvent: typed build events from a worker", () => {
  const ok = [
    { type: "vm", how: "booted", ms: 1200 },
    { type: "vm", how: "booted", ms: 1200, reason: { code: "no-cache" } },
    {
      type: "vm",
      how: "booted",
      ms: 1200,
      reason: { code: "other-machine", differs: [{ key: "memoryMiB", saved: 1024, now: 1536 }] },
    },
    { type: "vm", how: "continued", ms: 900, parkMs: 10, snapshotMs: 20, stateMs: 30 },
    { type: "vm", how: "powered-off", ms: 2000, reason: "secrets" },
    { type: "cache", action: "checkout", cache: "opam", strategy: "copy", generation: 0 },
    { type: "cache", action: "transfer", cache: "opam", direction: "in", bytes: 5, done: true },
    { type: "cache", action: "mounted", cache: "opam", target: "/root/.opam" },
    { type: "cache", action: "commit", cache: "opam", outcome: "stale", generation: 3 },
    { type: "transfer", direction: "pull", layers: 2, id: LAYER },
    { type: "comment", text: "hello" },
  ];
  it.each(ok.map((e) => [JSON.stringify(e), e]))("accepts %s", (_, e) => {
    expect(parseFleetEvent(JSON.stringify(e))).toEqual(e);
  });

  const bad = [
    ["the removed free-text event", { type: "info", message: "booted" }],
    ["a VM action that does not exist", { type: "vm", how: "exploded", ms: 1 }],
    ["a negative duration", { type: "vm", how: "resumed", ms: -1 }],
    ["a power-off without its reason", { type: "vm", how: "powered-off", ms: 1 }],
    ["an unknown cold-boot reason", { type: "vm", how: "booted", ms: 1, reason: { code: "x" } }],
    [
      "a machine difference that is an object",
      {
        type: "vm",
        how: "booted",
        ms: 1,
        reason: { code: "other-machine", differs: [{ key: "k", saved: {}, now: 1 }] },
      },
    ],
    ["a cache action that does not exist", { type: "cache", action: "rm", cache: "c" }],
    [
      "a cache strategy that does not exist",
      { type: "cache", action: "checkout", cache: "c", strategy: "nfs", generation: 1 },
    ],
    ["a transfer of no layer", { type: "transfer", direction: "push", layers: 0, id: LAYER }],
    [
      "a transfer of a layer that is not an ID",
      { type: "transfer", direction: "pull", layers: 1, id: "../x" },
    ],
    ["a comment that is not text", { type: "comment", text: 5 }],
  ] as const;
  it.each(bad)("refuses %s", (_, e) => {
    expect(() => parseFleetEvent(JSON.stringify(e))).toThrow(FleetMessageInvalidError);
  });
});
