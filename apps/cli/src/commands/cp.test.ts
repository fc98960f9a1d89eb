import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../main.js";
import { resolveDest } from "./cp.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-cp-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const captured = captureIo(dir);
  const code = await main(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe("strata cp: checks before any VM", () => {
  it("takes exactly ID:PATH and DEST", async () => {
    expect(await run("cp", "abcd:/etc")).toMatchObject({ code: 2 });
    expect((await run("cp", "./out", "abcd:/etc")).stderr).toContain("is not ID:PATH");
    expect((await run("cp", "abcd:etc", ".")).stderr).toContain("must be absolute");
    expect((await run("cp", "a:/b", "c", "d")).stderr).toContain('unexpected argument "d"');
  });

  it("resolves the ID as a prefix in the store: an unknown one is LAYER_NOT_FOUND", async () => {
    const result = await run("cp", "--store", join(dir, "store"), "abcd:/etc", ".");
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/abcd/);
    expect((await run("cp", "--store", join(dir, "store"), "zz:/etc", ".")).code).toBe(2);
  });

  it("is in the help and the completion scripts", async () => {
    expect((await run("--help")).stdout).toMatch(/\bcp\b.*copy a file or directory out of a layer/);
    expect((await run("completion", "bash")).stdout).toContain("cp");
  });
});

describe("resolveDest", () => {
  it("resolves against the working directory and keeps a trailing slash", () => {
    expect(resolveDest("/w", "out")).toBe("/w/out");
    expect(resolveDest("/w", "out/")).toBe("/w/out/");
    expect(resolveDest("/w", "/abs")).toBe("/abs");
    expect(resolveDest("/w", "/")).toBe("/");
  });
});

describe("strata build --output", () => {
  it("checks --output and --output-path together, before opening the store", async () => {
    const store = join(dir, "store");
    const b = (...flags: string[]) => run("build", "--store", store, ...flags, ".");
    expect((await b("--output", "out")).stderr).toContain("needs at least one --output-path");
    expect((await b("--output-path", "/opt")).stderr).toContain("needs --output DIR");
    expect(
      (await b("--output", "out", "--output-path", "/a/x", "--output-path", "/b/x")).stderr,
    ).toContain('would both land in DIR as "x"');
  });
});
