import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { BuildError } from "@strata/builder";
import { type CliIo, type Command, captureIo } from "@strata/cli-kit";
import { LayerNotFoundError } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "./main.js";

const exec = promisify(execFile);
const root = join(import.meta.dirname, "..", "..", "..");

function command(name: string, run: (io: CliIo) => Promise<number>): Command {
  return {
    name,
    summary: `the ${name} command`,
    synopsis: "ARG",
    maxArguments: 1,
    options: { force: { type: "boolean", help: "do it anyway" } },
    run: (_args, io) => run(io),
  };
}

async function runMain(argv: string[], commands?: Command[], signal?: AbortSignal) {
  const captured = captureIo(root, { signal });
  const code = await main(argv, captured.io, commands);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe("main: the error boundary", () => {
  it("lists the commands for --help and a command's usage for CMD --help", async () => {
    const help = await runMain(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}dockerfile +print the Dockerfile equivalent of a spec$/m);
    expect(help.stdout).toMatch(/^ {2}build +build a spec in QEMU virtual machines/m);
    expect(help.stdout).toContain("  fmt ");
    const fmt = await runMain(["fmt", "--help"]);
    expect(fmt).toMatchObject({ code: 0, stdout: expect.stringMatching(/^usage: strata fmt /) });
  });

  it("prints help on stderr and exits 2 without a command", async () => {
    expect(await runMain([])).toMatchObject({
      code: 2,
      stdout: "",
      stderr: expect.stringContaining("usage:"),
    });
  });

  it("names an unknown command or option", async () => {
    const only = [command("build", async () => 0), command("fmt", async () => 0)];
    expect((await runMain(["biuld"], only)).stderr).toBe(
      'strata: unknown command "biuld"; see "strata --help". Did you mean "build"?\n',
    );
    expect((await runMain(["zzzz"], only)).stderr).toBe(
      'strata: unknown command "zzzz"; see "strata --help".\n',
    );
    expect((await runMain(["--verbose"])).stderr).toMatch(/^strata: unknown option "--verbose"/);
  });

  it("generates a command's help from its option table", async () => {
    expect((await runMain(["x", "--help"], [command("x", async () => 0)])).stdout).toBe(
      "usage: strata x ARG\n\noptions:\n  --force           do it anyway\n",
    );
  });

  it("maps known errors through the exit-code table", async () => {
    const failing = (error: Error) =>
      command("x", async () => {
        throw error;
      });
    expect(await runMain(["x"], [failing(new BuildError("SPEC_INVALID", "bad copy"))])).toEqual({
      code: 2,
      stdout: "",
      stderr: "strata: bad copy\n",
    });
    expect((await runMain(["x"], [failing(new LayerNotFoundError("a".repeat(64)))])).code).toBe(3);
  });

  it("treats an object with a code that is not one of ours as unexpected (Node's ENOENT)", async () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: "ENOENT",
    });
    const looksKnown = Object.assign(new Error("imitation"), { code: "SPEC_INVALID" });
    for (const error of [enoent, looksKnown]) {
      const result = await runMain(
        ["x"],
        [
          command("x", async () => {
            throw error;
          }),
        ],
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^strata: unexpected error; please report it\nError: .*\n\s+at /,
      );
    }
  });

  it("prints the stack of an unexpected error", async () => {
    const result = await runMain(
      ["x"],
      [command("x", async () => Promise.reject(new TypeError("boom")))],
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^strata: unexpected error; please report it\nTypeError: boom\n\s+at /,
    );
  });

  it("exits 130 when interrupted", async () => {
    const controller = new AbortController();
    const waits = command("x", async (io) => {
      controller.abort();
      io.signal.throwIfAborted();
      return 0;
    });
    expect(await runMain(["x"], [waits], controller.signal)).toEqual({
      code: 130,
      stdout: "",
      stderr: "strata: interrupted\n",
    });
  });
});

describe("strata completion", () => {
  it("prints scripts generated from strata's own tables, bash's valid to bash -n", async () => {
    const bash = await runMain(["completion", "bash"]);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain("complete -F _strata strata");
    expect(bash.stdout).toContain("--qemu-boot-time");
    await exec("bash", ["-n", "-c", bash.stdout]);
    expect((await runMain(["completion", "fish"])).stdout).toContain("-a dockerfile");
    expect((await runMain(["completion", "tcsh"])).code).toBe(2);
  });
});

describe("the built strata binary", () => {
  let dir: string;

  beforeAll(async () => {
    // Build the CLI and every package it imports, so the test checks the real entry and its
    // exit codes (turbo skips what is already built).
    await exec(
      join(root, "node_modules", ".bin", "turbo"),
      ["run", "build", "--filter=@strata/cli...", "--output-logs=errors-only"],
      { cwd: root },
    );
    dir = await mkdtemp(join(tmpdir(), "strata-bin-"));
    await writeFile(join(dir, "bad.spec"), "((from a) (rnu))");
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function strata(...args: string[]) {
    try {
      const { stdout, stderr } = await exec(
        "node",
        [join(root, "apps/cli/bin/strata.js"), ...args],
        { cwd: dir },
      );
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it("exits 0 with output, 2 on a bad spec or flag", async () => {
    const ok = await strata("fmt", join(root, "examples", "hello.spec"));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^\(\(from debian-bookworm\)/);
    const bad = await strata("dockerfile", "-f", "bad.spec");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^bad\.spec:1:12: unknown operation "rnu"/);
    expect((await strata("fmt", "--nope", "x")).code).toBe(2);
  });

  it("prints its package's version for --version", async () => {
    const { version } = JSON.parse(await readFile(join(root, "apps/cli/package.json"), "utf8"));
    expect(await strata("--version")).toEqual({
      code: 0,
      stdout: `strata ${version}\n`,
      stderr: "",
    });
  });

  it("reads the spec from stdin with -f -", async () => {
    const child = execFile("node", [join(root, "apps/cli/bin/strata.js"), "dockerfile", "-f", "-"]);
    child.stdin!.end("((from x) (run (shell ls)))");
    let stdout = "";
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
    });
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect({ code, stdout }).toEqual({ code: 0, stdout: "FROM x\nRUN ls\n" });
  });
});
