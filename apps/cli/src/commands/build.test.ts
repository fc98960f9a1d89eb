import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
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
