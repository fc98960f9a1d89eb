import { captureIo } from "@strata/cli-kit";
import { describe, expect, it } from "vitest";
import { createBuildRenderer } from "./render-build.js";

const id = "a".repeat(64);

it("prints OBuilder's form: headings, output, saved/cached lines and Got", () => {
  const { io, stdout, stderr } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: false, mode: "plain" });
  render({ type: "step", stage: undefined, workdir: "/", op: "(from debian)" });
  render({ type: "saved", id });
  render({ type: "step", stage: "dev", workdir: "/src", op: '(run (shell "make"))' });
  render({ type: "output", chunk: Buffer.from("no newline") });
  render({ type: "cached", id });
  render({ type: "info", message: "hidden without -v" });
  render({ type: "warning", message: "TCG" });
  render({ type: "warning", message: "TCG" });
  render({ type: "done", id });
  expect(stdout()).toBe(
    `/: (from debian)\n---> saved as "${id}"\n[dev] /src: (run (shell "make"))\nno newline\n---> using "${id}" from cache\nGot: "${id}"\n`,
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
    { time, type: "done", id },
  ]);
});

it("prints only the final layer ID with -q, warnings still on stderr", () => {
  const { io, stdout, stderr } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: false, mode: "quiet" });
  render({ type: "step", stage: undefined, workdir: "/", op: "(from debian)" });
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
  render({ type: "step", stage: undefined, workdir: "/", op: "(from debian)" });
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
    const render = createBuildRenderer(io, { verbose: false, mode: json ? "json" : "plain" });
    render({ type: "step", stage: undefined, workdir: "/", op: "(run)" });
    render({ type: "output", chunk: bytes.subarray(0, at) });
    render({ type: "output", chunk: bytes.subarray(at) });
    render({ type: "done", id });
    return stdout();
  }

  it("comes out intact in the live output, split at every byte offset", () => {
    for (let at = 0; at <= bytes.length; at++)
      expect(renderSplit(false, at), `split at ${at}`).toBe(`/: (run)\n${TEXT}Got: "${id}"\n`);
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
    const render = createBuildRenderer(io, { verbose: false, mode: "plain" });
    for (const b of bytes) render({ type: "output", chunk: Buffer.from([b]) });
    render({ type: "output", chunk: Buffer.from([0xe2, 0x82]) });
    render({ type: "done", id });
    expect(stdout()).toBe(`${TEXT}\ufffd\nGot: "${id}"\n`);
  });
});
