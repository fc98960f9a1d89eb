import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../main.js";

const CANONICAL = "((from a)\n (run (network host)\n      (shell make))\n)\n";
const MESSY = "( (from a) ; base\n(run (shell make) (network host)))";
const MESSY_PRINTED = "((from a)\n (run (network host)\n      (shell make))\n)\n";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-fmt-"));
  await writeFile(join(dir, "good.spec"), CANONICAL);
  await writeFile(join(dir, "messy.spec"), MESSY, { mode: 0o640 });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(...argv: string[]) {
  const captured = captureIo(dir);
  const code = await main(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe("strata fmt", () => {
  it("prints the canonical form of each file", async () => {
    expect(await run("fmt", "messy.spec", "good.spec")).toEqual({
      code: 0,
      stdout: MESSY_PRINTED + CANONICAL,
      stderr: "",
    });
  });

  it("--check names the files not in canonical form and exits 1", async () => {
    const result = await run("fmt", "--check", "good.spec", "messy.spec");
    expect(result).toEqual({
      code: 1,
      stdout: "messy.spec\n",
      stderr: '1 file(s) not in canonical form; run "strata fmt -w" on them\n',
    });
    expect(await run("fmt", "--check", "good.spec")).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("-w rewrites files in place, keeping the mode and leaving no temp file", async () => {
    expect(await run("fmt", "-w", "messy.spec", "good.spec")).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(await readFile(join(dir, "messy.spec"), "utf8")).toBe(MESSY_PRINTED);
    expect((await stat(join(dir, "messy.spec"))).mode & 0o777).toBe(0o640);
    expect((await readdir(dir)).sort()).toEqual(["good.spec", "messy.spec"]);
  });

  it("reports the problems of every invalid file and exits 2", async () => {
    await writeFile(join(dir, "bad1.spec"), "((from a) (env))");
    await writeFile(join(dir, "bad2.spec"), "((from a)");
    const result = await run("fmt", "bad1.spec", "good.spec", "bad2.spec");
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(CANONICAL);
    expect(result.stderr).toContain("bad1.spec:1:11: expected (env NAME VALUE)");
    expect(result.stderr).toContain('bad2.spec:1:1: expected ")" to close the list opened here');
  });

  it.each([
    [[], 'strata: missing SPEC; see "strata fmt --help"\n'],
    [["-w", "--check", "a"], 'strata: options "-w" and "--check" cannot be used together\n'],
    [
      ["--wirte", "a"],
      'strata: unknown option "--wirte" for "strata fmt"; see "strata fmt --help"\n',
    ],
  ])("rejects %j with exit code 2", async (args, message) => {
    expect(await run("fmt", ...args)).toEqual({ code: 2, stdout: "", stderr: message });
  });
});
