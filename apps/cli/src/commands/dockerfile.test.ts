import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../main.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-dockerfile-"));
  await writeFile(
    join(dir, "a.spec"),
    '((from debian)\n (user (uid 1000) (gid 1000))\n (run (cache (apt (target /var/cache/apt))) (shell "make"))\n (copy (src a) (dst b))\n)\n',
  );
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

describe("strata dockerfile", () => {
  it("prints the Dockerfile", async () => {
    expect(await run("dockerfile", "-f", "a.spec")).toEqual({
      code: 0,
      stdout: "FROM debian\nUSER 1000:1000\nRUN make\nCOPY --chown=1000:1000 a b\n",
      stderr: "",
    });
  });

  it("converts what OBuilder's parser accepts, as OBuilder does, with a warning", async () => {
    await writeFile(join(dir, "multi.spec"), "((from a)\n (copy (src a b) (dst c)))\n");
    expect(await run("dockerfile", "-f", "multi.spec")).toEqual({
      code: 0,
      stdout: "FROM a\nCOPY a b c\n",
      stderr:
        'multi.spec:2:2: warning: copy: expected exactly one source because (dst c) does not end with "/", found 2; add a trailing "/" to copy into a directory\n' +
        "   (copy (src a b) (dst c)))\n   ^\n",
    });
  });

  it("reads the spec from stdin with -f -", async () => {
    expect(await runWithStdin("((from x) (run (shell ls)))", "dockerfile", "-f", "-")).toEqual({
      code: 0,
      stdout: "FROM x\nRUN ls\n",
      stderr: "",
    });
  });

  it("takes OBuilder's --escape, and --os as its alias", async () => {
    const windows = await run("dockerfile", "--escape", "windows", "-f", "a.spec");
    expect(windows.stdout.startsWith("#escape=`\n")).toBe(true);
    expect((await run("dockerfile", "--os=windows", "-f", "a.spec")).stdout).toBe(windows.stdout);
    expect((await run("dockerfile", "--escape=unix", "-f", "a.spec")).stdout).not.toContain(
      "#escape",
    );
    expect(await run("dockerfile", "--escape=unix", "--os=windows", "-f", "a.spec")).toEqual({
      code: 2,
      stdout: "",
      stderr: 'strata: options "--escape" and "--os" disagree; give one of them\n',
    });
  });

  it("writes mounts with --buildkit and the escape line with --os windows", async () => {
    const { stdout } = await run("dockerfile", "--buildkit", "--os", "windows", "--file", "a.spec");
    expect(stdout).toBe(
      "#escape=`\nFROM debian\nUSER 1000:1000\nRUN --mount=type=cache,id=apt,target=/var/cache/apt,uid=1000 make\nCOPY --chown=1000:1000 a b\n",
    );
  });

  it.each([
    [
      ["--os", "mac", "-f", "a.spec"],
      'strata: option "--os" must be "unix" or "windows", got "mac"\n',
    ],
    [
      ["--escape", "mac", "-f", "a.spec"],
      'strata: option "--escape" must be "unix" or "windows", got "mac"\n',
    ],
    [
      ["--bogus", "-f", "a.spec"],
      'strata: unknown option "--bogus" for "strata dockerfile"; see "strata dockerfile --help"\n',
    ],
    [["-f"], 'strata: option "-f" needs a value; see "strata dockerfile --help"\n'],
    [
      ["--buildkit=yes", "-f", "a.spec"],
      'strata: option "--buildkit" takes no value; see "strata dockerfile --help"\n',
    ],
    [[], 'strata: missing "-f SPEC"; see "strata dockerfile --help"\n'],
    [
      ["-f", "a.spec", "extra"],
      'strata: "strata dockerfile" takes no arguments, got "extra"; see "strata dockerfile --help"\n',
    ],
    [
      ["-f", "missing.spec"],
      'strata: cannot read spec "missing.spec": no such file; check the path\n',
    ],
  ])("rejects %j with exit code 2", async (args, message) => {
    expect(await run("dockerfile", ...args)).toEqual({ code: 2, stdout: "", stderr: message });
  });

  it("prints every spec problem with its line and a caret", async () => {
    await writeFile(join(dir, "bad.spec"), "((from a)\n (rnu)\n (env A))\n");
    const { code, stderr } = await run("dockerfile", "-f", "bad.spec");
    expect(code).toBe(2);
    expect(stderr).toBe(
      'bad.spec:2:3: unknown operation "rnu"; expected comment, workdir, shell, run, copy, user or env. Did you mean "run"?\n' +
        "   (rnu)\n    ^\n" +
        'bad.spec:3:2: expected (env NAME VALUE): 2 atoms after "env", found 1\n' +
        "   (env A))\n   ^\n",
    );
  });
});
