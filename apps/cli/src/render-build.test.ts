import { captureIo } from "@strata/cli-kit";
import { describe, expect, it } from "vitest";
import { createBuildRenderer } from "./render-build.js";

const id = "a".repeat(64);
const NONE = "0 steps built, 0 cached, 0 pulled in 0.0 s";

it("prints OBuilder's form: headings, output, saved/cached lines and Got", () => {
  const { io, stdout, stderr } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: false, mode: "plain", now: () => 0 });
  render({ type: "step", index: 0, stage: undefined, workdir: "/", op: "(from debian)" });
  render({ type: "saved", id });
  render({ type: "step", index: 1, stage: "dev", workdir: "/src", op: '(run (shell "make"))' });
  render({ type: "output", chunk: Buffer.from("no newline") });
  render({ type: "cached", id });
  render({ type: "comment", text: "hidden without -v" });
  render({ type: "vm", how: "booted", ms: 1000, reason: { code: "no-state" } });
  render({ type: "warning", message: "TCG" });
  render({ type: "warning", message: "TCG" });
  render({ type: "done", id });
  expect(stdout()).toBe(
    `/: (from debian)\n---> saved as "${id}" in 0.0 s\n[dev] /src: (run (shell "make"))\nno newline\n---> using "${id}" from cache\n1 step built, 1 cached, 0 pulled in 0.0 s\nGot: "${id}"\n`,
  );
  expect(stderr()).toBe("strata: [WARN] TCG\n");
});

it("prints one JSON object per event with --json", () => {
  const { io, stdout } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: true, mode: "json", now: () => 0 });
  render({ type: "output", chunk: Buffer.from("hi\n") });
  render({ type: "done", id });
  const time = "1970-01-01T00:00:00.000Z";
  expect(
    stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)),
  ).toEqual([
    { time, type: "output", text: "hi\n" },
    { time, type: "done", id, durationMs: 0, built: 0, cached: 0, pulled: 0 },
  ]);
});

it("prints only the final layer ID with -q, warnings still on stderr", () => {
  const { io, stdout, stderr } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: false, mode: "quiet" });
  render({ type: "step", index: 0, stage: undefined, workdir: "/", op: "(from debian)" });
  render({ type: "output", chunk: Buffer.from("noise\n") });
  render({ type: "saved", id });
  render({ type: "warning", message: "TCG" });
  render({ type: "done", id });
  expect(stdout()).toBe(`${id}\n`);
  expect(stderr()).toBe("strata: [WARN] TCG\n");
});

it("colours headings and warnings only when io.color is on", () => {
  const colored = captureIo("/", { color: true });
  const render = createBuildRenderer(colored.io, { verbose: false, mode: "plain" });
  render({ type: "step", index: 0, stage: undefined, workdir: "/", op: "(from debian)" });
  render({ type: "warning", message: "TCG" });
  expect(colored.stdout()).toBe("\x1b[1m/: (from debian)\x1b[0m\n");
  expect(colored.stderr()).toBe("strata: \x1b[33m[WARN]\x1b[0m TCG\n");
});

describe("output split inside a multi-byte character", () => {
  const TEXT = "é ü € 😀 日本 ok\n";
  const bytes = Buffer.from(TEXT);

  /** Feeds `bytes` as two output chunks split at `at`, then one more event. */
  function renderSplit(json: boolean, at: number): string {
    const { io, stdout } = captureIo("/");
    const render = createBuildRenderer(io, {
      verbose: false,
      mode: json ? "json" : "plain",
      now: () => 0,
    });
    render({ type: "step", index: 0, stage: undefined, workdir: "/", op: "(run)" });
    render({ type: "output", chunk: bytes.subarray(0, at) });
    render({ type: "output", chunk: bytes.subarray(at) });
    render({ type: "done", id });
    return stdout();
  }

  it("comes out intact in the live output, split at every byte offset", () => {
    for (let at = 0; at <= bytes.length; at++)
      expect(renderSplit(false, at), `split at ${at}`).toBe(
        `/: (run)\n${TEXT}${NONE}\nGot: "${id}"\n`,
      );
  });

  it("comes out intact in --json, split at every byte offset", () => {
    for (let at = 0; at <= bytes.length; at++) {
      const lines = renderSplit(true, at)
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { type: string; text?: string });
      const text = lines
        .filter((l) => l.type === "output")
        .map((l) => l.text)
        .join("");
      expect(text, `split at ${at}`).toBe(TEXT);
      expect(text).not.toContain("\ufffd");
    }
  });

  it("one byte at a time, and a character cut off at the end of a step is U+FFFD, once", () => {
    const { io, stdout } = captureIo("/");
    const render = createBuildRenderer(io, { verbose: false, mode: "plain", now: () => 0 });
    for (const b of bytes) render({ type: "output", chunk: Buffer.from([b]) });
    render({ type: "output", chunk: Buffer.from([0xe2, 0x82]) });
    render({ type: "done", id });
    expect(stdout()).toBe(`${TEXT}\ufffd\n${NONE}\nGot: "${id}"\n`);
  });
});

/** A clock the test moves, and a status-line timer the test fires. */
function fakeTime() {
  let t = 1_000_000;
  let tick: (() => void) | undefined;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    every: (fn: () => void) => {
      tick = fn;
      return () => {
        tick = undefined;
      };
    },
    fire: () => tick?.(),
    get running() {
      return tick !== undefined;
    },
  };
}

const ERASE = "\r\x1b[2K";
const RUN = {
  type: "step",
  index: 1,
  stage: undefined,
  workdir: "/src",
  op: "(run (shell make))",
} as const;

describe("live progress on a terminal", () => {
  /** What a terminal shows: text after the last erase of each line, stderr and stdout merged. */
  function captureTty(columns = 60) {
    const frames: string[] = [];
    const { io } = captureIo("/", { isTTY: true, columns });
    const tty = {
      ...io,
      stdout: { write: (t: string) => frames.push(t) },
      stderr: { write: (t: string) => frames.push(t) },
    };
    return { io: tty, frames };
  }

  it("redraws one status line with the step, its phase and its time, around the output", () => {
    const clock = fakeTime();
    const { io, frames } = captureTty();
    const render = createBuildRenderer(io, { verbose: false, mode: "tty", ...clock });
    render(RUN);
    expect(frames).toEqual([
      "/src: (run (shell make))\n",
      `${ERASE}#1 /src: (run (shell make)) · starting · 0 s`,
    ]);
    frames.length = 0;
    clock.advance(1500);
    render({ type: "phase", phase: "booting" });
    expect(frames).toEqual([`${ERASE}#1 /src: (run (shell make)) · booting · 1 s`]);
    frames.length = 0;
    clock.advance(40_000);
    clock.fire();
    expect(frames).toEqual([`${ERASE}#1 /src: (run (shell make)) · booting · 41 s`]);
    frames.length = 0;
    render({ type: "phase", phase: "waiting-for-ssh" });
    render({ type: "phase", phase: "running" });
    frames.length = 0;
    // A partial line waits for its newline: the status line is never drawn inside it.
    render({ type: "output", chunk: Buffer.from("compiling") });
    expect(frames).toEqual([]);
    render({ type: "output", chunk: Buffer.from(" done\nnext") });
    expect(frames).toEqual([
      ERASE,
      "compiling done\n",
      `${ERASE}#1 /src: (run (shell make)) · running · 41 s`,
    ]);
    frames.length = 0;
    clock.advance(2000);
    render({ type: "phase", phase: "saving" });
    render({ type: "saved", id });
    // The partial line is flushed when the step moves on, and the new phase shown.
    expect(frames).toEqual([
      ERASE,
      "next",
      `${ERASE}#1 /src: (run (shell make)) · running · 43 s`,
      `${ERASE}#1 /src: (run (shell make)) · saving · 43 s`,
      ERASE,
      `\n---> saved as "${id}" in 43.5 s\n`,
    ]);
    expect(clock.running).toBe(false);
    frames.length = 0;
    render({ type: "done", id });
    expect(frames.join("")).toBe(`1 step built, 0 cached, 0 pulled in 43.5 s\nGot: "${id}"\n`);
  });

  it("cuts the status line to the terminal's width, keeping the phase and time", () => {
    const clock = fakeTime();
    const { io, frames } = captureTty(40);
    const render = createBuildRenderer(io, { verbose: false, mode: "tty", ...clock });
    render({ ...RUN, op: `(run (shell "${"x".repeat(100)}"))` });
    render({ type: "phase", phase: "waiting-for-ssh" });
    const last = frames.at(-1)!.slice(ERASE.length);
    expect(last).toBe("#1 /src: (run … · waiting for SSH · 0 s");
    expect(last.length).toBeLessThan(40);
  });

  it("removes the status line when the build fails", () => {
    const clock = fakeTime();
    const { io, frames } = captureTty();
    const render = createBuildRenderer(io, { verbose: false, mode: "tty", ...clock });
    render(RUN);
    render({ type: "phase", phase: "running" });
    render.fail(new Error("boom"));
    expect(frames.at(-1)).toBe(ERASE);
    expect(clock.running).toBe(false);
  });

  it("prints warnings above the status line", () => {
    const clock = fakeTime();
    const { io, frames } = captureTty();
    const render = createBuildRenderer(io, { verbose: false, mode: "tty", ...clock });
    render(RUN);
    frames.length = 0;
    render({ type: "warning", message: "TCG" });
    expect(frames).toEqual([
      ERASE,
      "strata: [WARN] TCG\n",
      `${ERASE}#1 /src: (run (shell make)) · starting · 0 s`,
    ]);
  });
});

describe("plain progress", () => {
  it("prints each phase as a line with the step's time so far, durations and a summary", () => {
    const clock = fakeTime();
    const { io, stdout } = captureIo("/");
    const render = createBuildRenderer(io, { verbose: false, mode: "plain", ...clock });
    render({ type: "step", index: 0, stage: undefined, workdir: "/", op: "(from debian)" });
    render({ type: "cached", id });
    render(RUN);
    render({ type: "phase", phase: "booting" });
    clock.advance(38_200);
    render({ type: "phase", phase: "waiting-for-ssh" });
    clock.advance(1000);
    render({ type: "phase", phase: "running" });
    render({ type: "output", chunk: Buffer.from("ok\n") });
    clock.advance(80_000);
    render({ type: "saved", id });
    render({ ...RUN, index: 2 });
    render({ type: "cached", id, pulled: true });
    render({ type: "done", id });
    expect(stdout()).toBe(
      [
        "/: (from debian)",
        `---> using "${id}" from cache`,
        "/src: (run (shell make))",
        "--- booting (0.0 s)",
        "--- waiting for SSH (38.2 s)",
        "--- running (39.2 s)",
        "ok",
        `---> saved as "${id}" in 1m59s`,
        "/src: (run (shell make))",
        `---> using "${id}" from cache (pulled from the registry in 0.0 s)`,
        "1 step built, 1 cached, 1 pulled in 1m59s",
        `Got: "${id}"`,
        "",
      ].join("\n"),
    );
    expect(stdout()).not.toContain("\r");
  });
});

describe("--json events", () => {
  function parse(text: string) {
    return text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  it("carry the time, the step index on step-scoped events, and durations", () => {
    const clock = fakeTime();
    const { io, stdout } = captureIo("/");
    const render = createBuildRenderer(io, { verbose: false, mode: "json", now: clock.now });
    render({ type: "step", index: 0, stage: undefined, workdir: "/", op: "(from debian)" });
    render({ type: "saved", id });
    clock.advance(500);
    render(RUN);
    render({ type: "phase", phase: "running" });
    render({ type: "output", chunk: Buffer.from("hi\n") });
    clock.advance(2500);
    render({ type: "cached", id, pulled: true });
    render({ type: "done", id });
    const t0 = new Date(1_000_000).toISOString();
    const t1 = new Date(1_000_500).toISOString();
    const t2 = new Date(1_003_000).toISOString();
    expect(parse(stdout())).toEqual([
      { time: t0, type: "step", index: 0, workdir: "/", op: "(from debian)" },
      { time: t0, type: "saved", id, step: 0, durationMs: 0 },
      { time: t1, type: "step", index: 1, workdir: "/src", op: "(run (shell make))" },
      { time: t1, type: "phase", phase: "running", step: 1 },
      { time: t1, type: "output", step: 1, text: "hi\n" },
      { time: t2, type: "cached", id, pulled: true, step: 1, durationMs: 2500 },
      { time: t2, type: "done", id, durationMs: 3000, built: 1, cached: 0, pulled: 1 },
    ]);
  });

  it("report a failure as an event with its code, message and step", () => {
    const clock = fakeTime();
    const { io, stdout } = captureIo("/");
    const render = createBuildRenderer(io, { verbose: false, mode: "json", now: clock.now });
    render(RUN);
    render({ type: "output", chunk: Buffer.from("partial") });
    const failure = Object.assign(new Error("Build step failed: make: exit status 2"), {
      code: "BUILD_STEP_FAILED",
    });
    render.fail(failure);
    render.fail(new Error("no code"));
    const events = parse(stdout());
    expect(events.slice(1)).toEqual([
      { time: expect.any(String), type: "output", step: 1, text: "partial" },
      {
        time: expect.any(String),
        type: "error",
        code: "BUILD_STEP_FAILED",
        message: "Build step failed: make: exit status 2",
        step: 1,
      },
      { time: expect.any(String), type: "error", code: "INTERNAL", message: "no code" },
    ]);
  });
});

it("says with -v how each step's VM started, and nothing without", () => {
  const verbose = captureIo("/");
  const render = createBuildRenderer(verbose.io, { verbose: true, mode: "plain" });
  render({ type: "vm", how: "booted", ms: 31_800 });
  render({ type: "vm", how: "continued", ms: 420, parkMs: 95, snapshotMs: 12, stateMs: 310 });
  expect(verbose.stdout()).toBe("");
  expect(verbose.stderr()).toBe(
    "strata: [INFO] VM booted in 31.8 s\nstrata: [INFO] VM continued in 0.4 s (paused after the last step in 95 ms, snapshot 12 ms, state saved in 0.3 s)\n",
  );
  const quiet = captureIo("/");
  createBuildRenderer(quiet.io, { verbose: false, mode: "plain" })({
    type: "vm",
    how: "resumed",
    ms: 3_700,
  });
  expect(quiet.stderr() + quiet.stdout()).toBe("");
});

it("passes the vm event through --json with its timings", () => {
  const { io, stdout } = captureIo("/");
  createBuildRenderer(io, { verbose: false, mode: "json", now: () => 0 })({
    type: "vm",
    how: "continued",
    ms: 420,
    snapshotMs: 12,
  });
  expect(JSON.parse(stdout())).toEqual({
    time: "1970-01-01T00:00:00.000Z",
    type: "vm",
    how: "continued",
    ms: 420,
    snapshotMs: 12,
  });
});

it("renders with -v a sentence for each detail event, from its data", () => {
  const { io, stdout, stderr } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: true, mode: "plain" });
  render({
    type: "vm",
    how: "booted",
    ms: 30_000,
    reason: { code: "other-machine", differs: [{ key: "memoryMiB", saved: 1024, now: 1536 }] },
  });
  render({ type: "vm", how: "booted", ms: 30_000, reason: { code: "no-cache" } });
  render({ type: "vm", how: "resumed", ms: 3_000 });
  render({ type: "vm", how: "powered-off", ms: 2_500, reason: "secrets" });
  render({ type: "cache", action: "checkout", cache: "opam", strategy: "copy", generation: 0 });
  render({
    type: "cache",
    action: "transfer",
    cache: "opam",
    direction: "out",
    bytes: 2 ** 21,
    done: false,
  });
  render({ type: "cache", action: "mounted", cache: "d", target: "/mnt/d" });
  render({ type: "cache", action: "commit", cache: "opam", outcome: "committed", generation: 4 });
  render({ type: "transfer", direction: "pull", layers: 3, id });
  render({ type: "transfer", direction: "push", layers: 1, id });
  render({ type: "comment", text: "tools" });
  expect(stdout()).toBe("");
  expect(stderr().split("\n")).toEqual([
    "strata: [INFO] VM booted in 30.0 s (cold boot: the saved VM state was made by another machine (memoryMiB: 1024 then, 1536 now))",
    "strata: [INFO] VM booted in 30.0 s (cold boot: --no-cache resumes only VM states this build saved)",
    "strata: [INFO] VM resumed from the parent's saved state in 3.0 s",
    "strata: [INFO] VM powered off in 2.5 s, its state not saved: the step had secrets",
    "strata: [INFO] cache opam: new, empty (copy)",
    "strata: [INFO] cache opam: 2.0 MiB out...",
    "strata: [INFO] cache d: mounted at /mnt/d",
    "strata: [INFO] cache opam: committed (version 4)",
    `strata: [INFO] registry: pulled 3 layer(s) ending in ${id}`,
    `strata: [INFO] registry: pushed 1 layer(s) ending in ${id}`,
    "strata: [INFO] # tools",
    "",
  ]);
});

it("writes detail events to --json as data, with or without -v", () => {
  const { io, stdout } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: false, mode: "json", now: () => 0 });
  render({ type: "cache", action: "commit", cache: "opam", outcome: "stale", generation: 2 });
  render({ type: "vm", how: "booted", ms: 5, reason: { code: "state-missing" } });
  const events = stdout().trim().split("\n");
  const time = "1970-01-01T00:00:00.000Z";
  expect(events.map((l) => JSON.parse(l))).toEqual([
    { time, type: "cache", action: "commit", cache: "opam", outcome: "stale", generation: 2 },
    { time, type: "vm", how: "booted", ms: 5, reason: { code: "state-missing" } },
  ]);
});
