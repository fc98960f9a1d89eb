import { captureIo } from "@strata/cli-kit";
import { expect, it } from "vitest";
import { createBuildRenderer } from "./render-build.js";

const id = "a".repeat(64);

it("prints OBuilder's form: headings, output, saved/cached lines and Got", () => {
  const { io, stdout, stderr } = captureIo("/");
  const render = createBuildRenderer(io, { verbose: false, json: false });
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
  const render = createBuildRenderer(io, { verbose: true, json: true });
  render({ type: "output", chunk: Buffer.from("hi\n") });
  render({ type: "done", id });
  expect(
    stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)),
  ).toEqual([
    { type: "output", text: "hi\n" },
    { type: "done", id },
  ]);
});
