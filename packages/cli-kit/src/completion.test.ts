import { execFile } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Command, defineCommand } from "./command.js";
import { formatCompletion } from "./completion.js";

const exec = promisify(execFile);

const commands: Command[] = [
  defineCommand({
    name: "build",
    summary: "build it",
    synopsis: "-f SPEC DIR",
    maxArguments: 1,
    complete: ["dir"],
    options: {
      file: { type: "string", short: "f", value: "SPEC", help: "the spec" },
      verbose: { type: "boolean", short: "v", help: "more" },
    },
    run: async () => 0,
  }),
  defineCommand({
    name: "log",
    summary: "a layer's log",
    synopsis: "ID",
    maxArguments: 1,
    complete: ["layer"],
    options: { store: { type: "string", help: "the store" } },
    run: async () => 0,
  }),
  defineCommand({
    name: "ls",
    aliases: ["list"],
    summary: "list",
    synopsis: "",
    maxArguments: 0,
    options: { json: { type: "boolean", help: "json" } },
    run: async () => 0,
  }),
  defineCommand({
    name: "cache",
    summary: "caches",
    synopsis: "ls|rm",
    maxArguments: Number.POSITIVE_INFINITY,
    complete: [["ls", "rm"], "none"],
    options: {},
    run: async () => 0,
  }),
];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-completion-"));
  await writeFile(join(dir, "script.bash"), formatCompletion("bash", "strata", commands));
  // The layer listing the script runs: a stand-in `strata ls -q`.
  await writeFile(join(dir, "strata"), "#!/bin/sh\necho abcd1111 abcd2222 ef003333\n");
  await chmod(join(dir, "strata"), 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs bash's completion function on a command line, the cursor on the last word. */
async function complete(...line: string[]): Promise<string[]> {
  const words = line.map((w) => `'${w}'`).join(" ");
  const script = `source ${dir}/script.bash
COMP_WORDS=(${words}); COMP_CWORD=${line.length - 1}
$(complete -p strata | sed -E 's/.* -F ([^ ]+) .*/\\1/')
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const { stdout } = await exec("bash", ["-c", script], {
    cwd: dir,
    env: { PATH: `${dir}:/usr/bin:/bin` },
  });
  return stdout.split("\n").filter(Boolean).sort();
}

describe("bash completion generated from the command tables", () => {
  it("registers a function with complete and completes command names and aliases", async () => {
    expect(await complete("strata", "")).toEqual(
      ["--help", "--version", "build", "cache", "list", "log", "ls"].sort(),
    );
    expect(await complete("strata", "l")).toEqual(["list", "log", "ls"]);
  });

  it("completes a command's flags from its option table", async () => {
    expect(await complete("strata", "build", "-")).toEqual(["--file", "--verbose", "-f", "-v"]);
    expect(await complete("strata", "list", "--")).toEqual(["--json"]);
  });

  it("completes layer IDs from the store listing and word lists", async () => {
    expect(await complete("strata", "log", "abcd")).toEqual(["abcd1111", "abcd2222"]);
    expect(await complete("strata", "log", "--store", "/s", "ef")).toEqual(["ef003333"]);
    expect(await complete("strata", "cache", "")).toEqual(["ls", "rm"]);
    expect(await complete("strata", "cache", "ls", "")).toEqual([]);
  });

  it("writes zsh (through bashcompinit) and fish scripts from the same tables", () => {
    const zsh = formatCompletion("zsh", "strata", commands);
    expect(zsh.startsWith("#compdef strata\n")).toBe(true);
    expect(zsh).toContain("bashcompinit");
    const fish = formatCompletion("fish", "strata", commands);
    expect(fish).toContain(
      "complete -c strata -n \"__fish_seen_subcommand_from build\" -l file -s f -r -d 'the spec'",
    );
    expect(fish).toContain("-a list -d 'list'");
    expect(fish).toContain("-f -a '(strata ls -q 2>/dev/null)'");
  });
});
