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
  return runWithStdin(undefined, ...argv);
}

async function runWithStdin(stdin: string | undefined, ...argv: string[]) {
  const captured = captureIo(dir, { stdin });
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

  it("prints what OBuilder's parser accepts, warning about what a build refuses", async () => {
    await writeFile(
      join(dir, "obuilder.spec"),
      "((build x ((from a))) (build x ((from b)))\n (from c) (copy (src ../a b) (dst c)) (user (uid 0x10) (gid 1_000)))",
    );
    expect(await run("fmt", "obuilder.spec")).toEqual({
      code: 0,
      stdout:
        "((build x\n        ((from a)))\n (build x\n        ((from b)))\n (from c)\n (copy (src ../a b) (dst c))\n (user (uid 16) (gid 1000))\n)\n",
      stderr: [
        'obuilder.spec:1:23: warning: build "x" is already defined at 1:2; use another name',
        "  ((build x ((from a))) (build x ((from b)))",
        "                        ^",
        'obuilder.spec:2:11: warning: copy: source "../a" must not contain ".."; sources stay inside the context',
        "   (from c) (copy (src ../a b) (dst c)) (user (uid 0x10) (gid 1_000)))",
        "            ^",
        'obuilder.spec:2:11: warning: copy: expected exactly one source because (dst c) does not end with "/", found 2; add a trailing "/" to copy into a directory',
        "   (from c) (copy (src ../a b) (dst c)) (user (uid 0x10) (gid 1_000)))",
        "            ^",
        "",
      ].join("\n"),
    });
  });

  it('reads stdin for "-" and refuses to rewrite it', async () => {
    expect(await runWithStdin(MESSY, "fmt", "-")).toEqual({
      code: 0,
      stdout: MESSY_PRINTED,
      stderr: "",
    });
    expect(await runWithStdin(MESSY, "fmt", "-w", "-")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'strata: option "-w" cannot rewrite stdin ("-"); print it instead\n',
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

  it("refuses a spec that is not UTF-8 (exit 2, with its position) and -w leaves it byte for byte", async () => {
    const bytes = Buffer.concat([
      Buffer.from('((from a)\n (run (shell "caf'),
      Buffer.from([0xe9]),
      Buffer.from('")))\n'),
    ]);
    await writeFile(join(dir, "latin1.spec"), bytes);
    const result = await run("fmt", "-w", "latin1.spec");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'spec "latin1.spec" is not valid UTF-8 (first bad byte at 2:18)',
    );
    expect((await readFile(join(dir, "latin1.spec"))).equals(bytes)).toBe(true);
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/tmp/)]));
  });

  it("refuses thousands of nested (build ...) levels or parens as a spec error with a position, exit 2", async () => {
    const depth = 5000;
    const builds = `${"((build b ".repeat(depth)}((from a))${"))".repeat(depth)}`;
    await writeFile(join(dir, "deep.spec"), `${builds}\n`);
    await writeFile(join(dir, "parens.spec"), `${"(".repeat(100_000)}${")".repeat(100_000)}`);
    for (const file of ["deep.spec", "parens.spec"]) {
      for (const command of [
        ["fmt", file],
        ["fmt", "-w", file],
        ["dockerfile", "-f", file],
      ]) {
        const result = await run(...command);
        expect(result.code, `${command.join(" ")}: ${result.stderr}`).toBe(2);
        expect(result.stderr).toMatch(
          new RegExp(`${file}:1:\\d+: lists nested more than 200 deep`),
        );
      }
    }
  });
});
