import { execFileSync } from "node:child_process";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../main.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-build-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(stdin: string | undefined, ...argv: string[]) {
  const captured = captureIo(dir, { stdin });
  const code = await main(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

const MULTI = "((from a)\n (copy (src a b) (dst c)))\n";
const MULTI_PROBLEM =
  'copy: expected exactly one source because (dst c) does not end with "/", found 2; add a trailing "/" to copy into a directory';

describe("strata build: checks before any VM", () => {
  it("refuses what OBuilder refuses only at build time, with the place, before opening the store", async () => {
    await writeFile(join(dir, "multi.spec"), MULTI);
    const store = join(dir, "store");
    expect(await run(undefined, "build", "-f", "multi.spec", "--store", store, ".")).toEqual({
      code: 2,
      stdout: "",
      stderr: `multi.spec:2:2: ${MULTI_PROBLEM}\n   (copy (src a b) (dst c)))\n   ^\n`,
    });
    await expect(access(store)).rejects.toThrow(/ENOENT/);
  });

  it("reads the spec from stdin with -f -", async () => {
    const store = join(dir, "store");
    const result = await run(MULTI, "build", "-f", "-", "--store", store, ".");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`<stdin>:2:2: ${MULTI_PROBLEM}`);
    await expect(access(store)).rejects.toThrow(/ENOENT/);
  });

  it("checks --progress, --json and -q before anything runs", async () => {
    expect(await run(undefined, "build", "--progress=fancy", ".")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'strata: option "--progress": "fancy" is not one of auto, tty, plain, json\n',
    });
    expect((await run(undefined, "build", "-q", "--json", ".")).code).toBe(2);
    expect((await run(undefined, "build", ".", "extra")).stderr).toBe(
      'strata: unexpected argument "extra"; see "strata build --help"\n',
    );
  });

  it("refuses --watch with a spec from stdin", async () => {
    expect(await run(MULTI, "build", "--watch", "-f", "-", ".")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'strata: option "--watch" needs a spec file to watch, not "-f -"\n',
    });
  });
});

describe("strata build --target", () => {
  const STAGES = "((build tools ((from b))) (build docs ((from b))) (from b))\n";

  it("refuses an unknown stage as a usage error listing the stages, before opening the store", async () => {
    await writeFile(join(dir, "build.spec"), STAGES);
    const store = join(dir, "store");
    expect(await run(undefined, "build", "--target", "tool", "--store", store, ".")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'strata: option "--target": no stage "tool"; the spec\'s stages are: tools, docs\n',
    });
    await expect(access(store)).rejects.toThrow(/ENOENT/);
  });

  it("builds the stage alone and prints its layer", async () => {
    await writeFile(
      join(dir, "build.spec"),
      STAGES.replace("(build docs ((from b)))", "(build docs ((from c)))"),
    );
    const store = join(dir, "store");
    await mkdir(join(store, "base-image"), { recursive: true });
    for (const name of ["b", "c"])
      execFileSync("qemu-img", [
        "create",
        "-q",
        "-f",
        "qcow2",
        join(store, "base-image", `${name}.qcow2`),
        "64M",
      ]);
    const result = await run(
      undefined,
      "build",
      "--target",
      "docs",
      "--json",
      "--store",
      store,
      ".",
    );
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === "step").map((e) => [e.index, e.stage, e.op])).toEqual([
      [0, "docs", "(from c)"],
    ]);
    expect(events.at(-1)).toMatchObject({ type: "done", built: 1, cached: 0, pulled: 0 });
  });
});

describe("strata build --json: the failure as an event", () => {
  async function failingBuild(spec: string) {
    await writeFile(join(dir, "build.spec"), spec);
    const store = join(dir, "store");
    await mkdir(join(store, "base-image"), { recursive: true });
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      join(store, "base-image", "b.qcow2"),
      "64M",
    ]);
    const result = await run(undefined, "build", "--json", "--store", store, ".");
    expect(result.code).not.toBe(0);
    const events = result.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    return events.at(-1);
  }

  it("ends with an error event carrying the code, the message and the failed step", async () => {
    // The copy source is missing: the step fails before any VM starts.
    const last = await failingBuild("((from b) (copy (src nope.txt) (dst /x)))\n");
    expect(last).toMatchObject({ type: "error", code: "COPY_SOURCE_INVALID", step: 1 });
    expect(last.message).toContain("nope.txt");
    expect(Number.isNaN(Date.parse(last.time))).toBe(false);
  });

  it("has no step when the build failed before its first step", async () => {
    const last = await failingBuild("((from missing-image))\n");
    expect(last).toMatchObject({ type: "error" });
    expect(last).not.toHaveProperty("step");
    expect(last.code).toMatch(/^[A-Z_]+$/);
    expect(last.code).not.toBe("INTERNAL");
    expect(last.message).toContain("missing-image");
  });
});

describe("strata build --no-cache", () => {
  it("refuses --registry and --queue beside it, before opening the store", async () => {
    await writeFile(join(dir, "build.spec"), "((from b))\n");
    const store = join(dir, "store");
    const withRegistry = await run(
      undefined,
      "build",
      "--no-cache",
      "--registry",
      "127.0.0.1:5000/layers",
      "--insecure-registry",
      "--store",
      store,
      ".",
    );
    expect(withRegistry.code).toBe(2);
    expect(withRegistry.stderr).toContain('option "--no-cache" cannot go with "--registry"');
    const queued = await run(undefined, "build", "--no-cache", "--queue", "redis://x", ".");
    expect(queued).toMatchObject({ code: 2 });
    expect(queued.stderr).toContain('option "--no-cache" cannot go with "--queue"');
    await expect(access(store)).rejects.toThrow(/ENOENT/);
  });
});
