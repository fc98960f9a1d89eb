import { execFileSync } from "node:child_process";
import { access, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
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

/** `<store>/base-image/NAME.qcow2`, a blank 64M disk, for each name; returns the store. */
async function blankBaseImages(...names: string[]): Promise<string> {
  const store = join(dir, "store");
  await mkdir(join(store, "base-image"), { recursive: true });
  for (const name of names)
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      join(store, "base-image", `${name}.qcow2`),
      "64M",
    ]);
  return store;
}

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
    const store = await blankBaseImages("b", "c");
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
    const store = await blankBaseImages("b");
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
  it("refuses --queue beside it, before opening the store", async () => {
    await writeFile(join(dir, "build.spec"), "((from b))\n");
    const store = join(dir, "store");
    const queued = await run(
      undefined,
      "build",
      "--no-cache",
      "--queue",
      "redis://x",
      "--store",
      store,
      ".",
    );
    expect(queued).toMatchObject({ code: 2 });
    expect(queued.stderr).toContain('option "--no-cache" cannot go with "--queue"');
    await expect(access(store)).rejects.toThrow(/ENOENT/);
  });
});

describe("strata build --qemu-guest-arch", () => {
  /** A store with `plain` (no manifest) and `arm` (a manifest saying aarch64). */
  async function twoArchStore() {
    const store = await blankBaseImages("plain", "arm");
    await writeFile(
      join(store, "base-image", "arm.json"),
      JSON.stringify({ name: "arm", arch: "aarch64" }),
    );
    return store;
  }

  it("refuses a value OBuilder does not know", async () => {
    expect(await run(undefined, "build", "--qemu-guest-arch", "x86_64", ".")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'strata: option "--qemu-guest-arch": "x86_64" is not one of amd64, arm64, riscv64\n',
    });
  });

  it("a manifest naming another architecture is an error before any VM or layer", async () => {
    const store = await twoArchStore();
    // The amd64 stage's run step would boot a VM: the check comes before it.
    await writeFile(
      join(dir, "build.spec"),
      '((build tools ((from plain) (run (shell "uname -m")))) (from arm))\n',
    );
    const result = await run(
      undefined,
      "build",
      "--qemu-guest-arch",
      "amd64",
      "--store",
      store,
      ".",
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'base image "arm" is aarch64 (its manifest says so), but the guest architecture asked for is x86_64',
    );
    // No layer, not even the stages' (from) layers.
    expect(await readdir(join(store, "result"))).toEqual([]);
  });

  it("the architecture a manifest names is accepted", async () => {
    const store = await twoArchStore();
    await writeFile(join(dir, "build.spec"), "((from arm))\n");
    const result = await run(
      undefined,
      "build",
      "--qemu-guest-arch",
      "arm64",
      "-q",
      "--store",
      store,
      ".",
    );
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  });
});
