import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { BuildEvent } from "./events.js";
import { StateWriter } from "./state-writer.js";

/** A job that records when it starts and ends, and ends when `release` is called. */
function gatedJob(log: string[], name: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return {
    release,
    finish: async () => {
      log.push(`start ${name}`);
      await gate;
      log.push(`end ${name}`);
    },
  };
}

describe("StateWriter", () => {
  it("finishes states one at a time, in order; settle waits for all", async () => {
    const log: string[] = [];
    const w = new StateWriter(() => {});
    const a = gatedJob(log, "a");
    const b = gatedJob(log, "b");
    w.add("/a", "a", a.finish);
    w.add("/b", "b", b.finish);
    await sleep(10);
    expect(log).toEqual(["start a"]);
    b.release();
    await sleep(10);
    expect(log).toEqual(["start a"]);
    let settled = false;
    const settling = w.settle().then(() => (settled = true));
    a.release();
    await settling;
    expect(settled).toBe(true);
    expect(log).toEqual(["start a", "end a", "start b", "end b"]);
  });

  it("has room for a new raw state only while fewer than two wait", async () => {
    const w = new StateWriter(() => {});
    const a = gatedJob([], "a");
    const b = gatedJob([], "b");
    await w.room();
    w.add("/a", "a", a.finish);
    await w.room();
    w.add("/b", "b", b.finish);
    let room = false;
    const waiting = w.room().then(() => (room = true));
    await sleep(10);
    expect(room).toBe(false);
    a.release();
    await waiting;
    expect(room).toBe(true);
    b.release();
    await w.settle();
  });

  it("written(dir) waits for that layer's state only", async () => {
    const log: string[] = [];
    const w = new StateWriter(() => {});
    const a = gatedJob(log, "a");
    w.add("/a", "a", a.finish);
    await w.written("/other");
    expect(log).toEqual(["start a"]);
    const done = w.written("/a").then(() => log.push("written a"));
    a.release();
    await done;
    expect(log).toEqual(["start a", "end a", "written a"]);
  });

  it("a failed state is a warning and the next one still runs; a cancelled one is silent", async () => {
    const events: BuildEvent[] = [];
    const w = new StateWriter((e) => events.push(e));
    const ran: string[] = [];
    w.add("/a", "aaaa", async () => {
      throw new Error("disk full");
    });
    w.add("/b", "bbbb", async () => {
      ran.push("b");
    });
    const abort = new AbortController();
    w.add(
      "/c",
      "cccc",
      async () => {
        abort.abort(new Error("Ctrl-C"));
        throw new Error("zstd was killed");
      },
      abort.signal,
    );
    // Queued after the cancel: still run, to remove what it was given, and silent.
    w.add(
      "/d",
      "dddd",
      async () => {
        ran.push("d");
        abort.signal.throwIfAborted();
      },
      abort.signal,
    );
    await w.settle();
    expect(ran).toEqual(["b", "d"]);
    expect(events).toEqual([
      {
        type: "warning",
        message: "could not save the VM state of aaaa for later warm starts: disk full",
      },
    ]);
  });
});
