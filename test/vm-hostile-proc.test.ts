// Process faults in real VMs (issue #11, items 10 and 11): a build stopped by SIGTERM, a build
// killed by SIGKILL, and `strata shell` losing its terminal (SIGHUP). Three cold boots; each
// checks the exit code, the process table, the store's scratch space and the temp directory.
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, type TestStore } from "./support/test-store.js";

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "apps", "cli", "bin", "strata.js");
const SPEC = `((from debian-bookworm)
 (run (shell "echo sleeping; sleep 600")))
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("stop signals and SIGKILL in real VMs", () => {
  let store: TestStore;
  let context: string;
  /** TMPDIR of every strata process we start: whatever they leave there is a leak. */
  let scratch: string;

  beforeAll(async () => {
    store = await createTestStore("strata-e2e-proc-");
    context = await mkdtemp(join(tmpdir(), "strata-proc-ctx-"));
    scratch = await mkdtemp(join(tmpdir(), "strata-proc-tmp-"));
    await writeFile(join(context, "build.spec"), SPEC);
  });
  afterAll(async () => {
    await rm(context, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
    await store?.[Symbol.asyncDispose]();
  });

  /** QEMU processes of our strata processes (their run directories live in our TMPDIR). */
  const qemuPids = async (): Promise<number[]> => {
    const r = await exec("pgrep", ["-f", `qemu-system.*${scratch}`]).catch(() => ({
      stdout: "",
    }));
    return r.stdout.split("\n").filter(Boolean).map(Number);
  };

  /** Starts `strata ARGS` with our TMPDIR; resolves once stdout has a line `ready`. */
  function strata(args: string[], ready: string) {
    // A whole line: the step's header (`---> (run (shell "echo sleeping...`) must not count.
    const line = new RegExp(`^${ready}\\r?$`, "m");
    const child = spawn("node", [CLI, ...args, `--store=qemu:${store.root}`], {
      cwd: context,
      env: { ...process.env, TMPDIR: scratch },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    const started = new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        stdout += d;
        if (line.test(stdout)) resolve();
      });
      void exited.then(() => reject(new Error(`strata ended early:\n${stdout}\n${stderr}`)));
    });
    return { child, started, exited, output: () => ({ stdout, stderr }) };
  }

  it("SIGTERM mid-step: exit 143, no QEMU, no result-tmp, no temp dir", async () => {
    const build = strata(["build", "-f", join(context, "build.spec"), "."], "sleeping");
    await build.started;
    expect(await qemuPids()).toHaveLength(1);
    build.child.kill("SIGTERM");
    const { code } = await build.exited;
    expect(code).toBe(143);
    expect(build.output().stderr).toContain("strata: interrupted by SIGTERM");
    expect(await qemuPids()).toEqual([]);
    expect(await readdir(join(store.root, "result-tmp"))).toEqual([]);
    expect(await readdir(scratch)).toEqual([]);
  });

  it("SIGKILL mid-step: QEMU dies within seconds; the next command reaps the leftovers", async () => {
    const build = strata(["build", "-f", join(context, "build.spec"), "."], "sleeping");
    await build.started;
    const [qemu] = await qemuPids();
    expect(qemu).toBeGreaterThan(0);
    build.child.kill("SIGKILL");
    await build.exited;
    const killedAt = Date.now();
    while (alive(qemu!) && Date.now() - killedAt < 5_000)
      await new Promise((r) => setTimeout(r, 50));
    // setpriv --pdeathsig: the kernel kills QEMU with its owner; nothing of strata ran.
    expect(alive(qemu!)).toBe(false);
    // What a SIGKILL leaves: the step's scratch layer and lock, QEMU's run directory.
    expect((await readdir(join(store.root, "result-tmp"))).length).toBeGreaterThan(0);
    expect((await readdir(scratch)).some((f) => f.startsWith("strata-vm-"))).toBe(true);
    const ls = await exec("node", [CLI, "ls", `--store=qemu:${store.root}`], {
      env: { ...process.env, TMPDIR: scratch },
    });
    expect(ls.stdout).toContain("(from debian-bookworm)");
    expect(await readdir(join(store.root, "result-tmp"))).toEqual([]);
    expect(await readdir(scratch)).toEqual([]);
  });

  it("SIGHUP to strata shell (its terminal closed): exit 129, no QEMU, no temp dir", async () => {
    let base = "";
    {
      await using s = await openStore({ root: store.root });
      base = s.list().find((l) => l.description === "(from debian-bookworm)")!.id;
    }
    // The guest's PTY echoes our input: wait for what only the shell's arithmetic prints.
    const shell = strata(["shell", base], "shell-is-42");
    shell.child.stdin.write("echo shell-is-$((40+2))\n");
    await shell.started;
    expect(await qemuPids()).toHaveLength(1);
    shell.child.kill("SIGHUP");
    const { code } = await shell.exited;
    expect(code).toBe(129);
    expect(await qemuPids()).toEqual([]);
    expect(await readdir(scratch)).toEqual([]);
  });
});
