// A fleet end to end on this machine: its own redis-server and docker-registry on 127.0.0.1,
// one `strata worker` process with its own store, and `strata build --queue` as a user runs it.
// The build streams like a local one and exits with a local build's codes; the worker pushes its
// layers to the registry; Ctrl-C on the submitter cancels the job and stops its VM; SIGTERM
// stops the worker (exit 0). Then a second worker with its own store joins, the first is killed
// with SIGKILL mid-step, and the build finishes on the second (layers pulled from the registry).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { startRedis, type TestRedis } from "@strata/fleet/testing";
import { RegistryClient } from "@strata/registry";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestStore, type TestStore } from "./support/test-store.js";

const CLI = join(import.meta.dirname, "..", "apps", "cli", "bin", "strata.js");

const SPEC = `((from debian-bookworm)
 (run (shell "echo fleet-one > /one && echo made-one"))
 (run (shell "cat /one && echo made-two")))
`;
const FAILING = SPEC.replace(/\)\n$/, `\n (run (shell "echo about-to-fail && exit 3")))\n`);
const SLOW = SPEC.replace(/\)\n$/, `\n (run (shell "echo slow-started && sleep 600")))\n`);
const KILLED = SPEC.replace(
  /\)\n$/,
  `\n (run (shell "echo kill-started && sleep 20 && echo kill-finished")))\n`,
);

interface Run {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exit: Promise<number | null>;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const run: Run = {
    child,
    stdout: "",
    stderr: "",
    exit: new Promise((done) => child.on("close", (code) => done(code))),
  };
  child.stdout?.on("data", (d) => (run.stdout += d));
  child.stderr?.on("data", (d) => (run.stderr += d));
  return run;
}

/** QEMU processes whose command line names `dir` (the worker's store). */
async function qemusUsing(dir: string): Promise<number> {
  let n = 0;
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    // QEMU runs behind setpriv and may be named by a full path: look at the first two words.
    const words = cmd.split("\0").slice(0, 2);
    if (words.some((w) => basename(w).startsWith("qemu-system")) && cmd.includes(dir)) n++;
  }
  return n;
}

/** Every QEMU command line, to say what was running when a count was wrong. */
async function psQemu(): Promise<string> {
  const { execFileSync } = await import("node:child_process");
  return execFileSync(
    "sh",
    ["-c", "ps -eo pid,ppid,args | grep -i qemu-system | grep -v grep || true"],
    {
      encoding: "utf8",
    },
  );
}

async function until(
  what: string,
  test: () => boolean,
  ms: number,
  detail: () => string = () => "",
): Promise<void> {
  for (const end = Date.now() + ms; !test(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((done) => setTimeout(done, 250));
  }
}

describe("strata worker and strata build --queue", () => {
  let redis: TestRedis;
  let registry: TestRegistry;
  let store: TestStore;
  let worker: Run;
  let store2: TestStore | undefined;
  let worker2: Run | undefined;
  let specs: string;
  let queue: string;

  beforeAll(async () => {
    redis = await startRedis();
    registry = await startTestRegistry();
    store = await createTestStore("strata-e2e-fleet-");
    specs = await mkdtemp(join(tmpdir(), "strata-fleet-specs-"));
    for (const [name, text] of [
      ["ok.spec", SPEC],
      ["fail.spec", FAILING],
      ["slow.spec", SLOW],
      ["killed.spec", KILLED],
    ] as const)
      await writeFile(join(specs, name), text);
    queue = redis.url.href;
    worker = startWorker("w1", store.root);
    await until("the worker to register", () => worker.stderr.includes("ready"), 60_000);
  });

  const startWorker = (name: string, root: string) =>
    start([
      "worker",
      "--queue",
      queue,
      "--registry",
      `${registry.registry}/fleet`,
      "--name",
      name,
      `--store=qemu:${root}`,
    ]);

  afterAll(async () => {
    for (const w of [worker, worker2])
      if (w && w.child.exitCode === null && w.child.signalCode === null) {
        w.child.kill("SIGKILL");
        await w.exit;
      }
    await store2?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
    await registry?.[Symbol.asyncDispose]();
    await store?.[Symbol.asyncDispose]();
    await rm(specs, { recursive: true, force: true });
  });

  const submit = (spec: string, ...extra: string[]) =>
    start(["build", "--queue", queue, "-f", join(specs, spec), ...extra, specs]);

  it("streams a build like a local one; the worker pushes its layers to the registry", async () => {
    const r = submit("ok.spec");
    expect(await r.exit, r.stderr + worker.stderr).toBe(0);
    expect(r.stderr).toContain('running on worker "w1"');
    expect(r.stdout).toContain("made-one");
    expect(r.stdout).toContain("fleet-one\nmade-two");
    expect(r.stdout).toMatch(/---> saved as "[0-9a-f]{64}"/);
    const id = /Got: "([0-9a-f]{64})"/.exec(r.stdout)?.[1];
    expect(id).toBeDefined();
    const tags = await new RegistryClient({
      registry: registry.registry,
      credentials: async () => undefined,
    }).listTags("fleet");
    expect(tags).toContain(id);

    // Again: every step from the worker's cache, output replayed.
    const again = submit("ok.spec", "--json");
    expect(await again.exit, again.stderr).toBe(0);
    const events = again.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; id?: string });
    expect(events.filter((e) => e.type === "cached")).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: "done", id });
  });

  it("exits 1 when a step fails, as a local build does", async () => {
    const r = submit("fail.spec");
    expect(await r.exit, r.stderr).toBe(1);
    expect(r.stdout).toContain("about-to-fail");
  });

  it("Ctrl-C cancels the remote job and stops its VM; SIGTERM stops the worker", async () => {
    const r = submit("slow.spec");
    await until("the slow step to start", () => /^slow-started$/m.test(r.stdout), 600_000);
    expect(await qemusUsing(store.root), `${await psQemu()}\n${worker.stderr}`).toBe(1);
    r.child.kill("SIGINT");
    expect(await r.exit, r.stderr).toBe(130);
    expect(r.stderr).toContain("cancelled");
    await until(
      "the worker to end the job",
      () => /job \S+: cancelled/.test(worker.stderr),
      120_000,
    );
    await expect.poll(() => qemusUsing(store.root), { timeout: 60_000 }).toBe(0);
    const jobs = start(["fleet", "jobs", "--queue", queue, "--json"]);
    expect(await jobs.exit, jobs.stderr).toBe(0);
    const records = jobs.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { state: string });
    expect(records.map((j) => j.state)).toContain("cancelled");

    worker.child.kill("SIGTERM");
    expect(await worker.exit, worker.stderr).toBe(0);
    expect(worker.stderr).toContain('worker "w1" stopped');
  });

  it("kill -9 of the worker running a step: the build completes on another worker", async () => {
    // w1 comes back under its old name; w2 is a second host with its own store (base image
    // only). w1 holds the spec's first two layers, so the job is routed to it.
    worker = startWorker("w1", store.root);
    store2 = await createTestStore("strata-e2e-fleet-w2-");
    worker2 = startWorker("w2", store2.root);
    const w2 = worker2;
    await until(
      "both workers to register",
      () => worker.stderr.includes("ready") && w2.stderr.includes("ready"),
      60_000,
    );
    const r = submit("killed.spec");
    await until(
      "the step to start on w1",
      () => /^kill-started$/m.test(r.stdout),
      600_000,
      () => `submitter:\n${r.stderr}\nw1:\n${worker.stderr}\nw2:\n${w2.stderr}`,
    );
    expect(r.stderr).toContain('running on worker "w1"');
    worker.child.kill("SIGKILL");
    await worker.exit;
    // Its VM dies with it (QEMU runs with a parent-death signal).
    await expect.poll(() => qemusUsing(store.root), { timeout: 30_000 }).toBe(0);
    // The submitter sees the worker gone, moves the job to the pool once its lock expires, and
    // w2 builds it: the first two layers pulled from the registry, the last one built.
    expect(await r.exit, r.stderr + w2.stderr).toBe(0);
    expect(r.stderr).toContain("its worker is gone");
    expect(r.stderr).toContain('running on worker "w2"');
    expect(r.stdout).toMatch(/^kill-finished$/m);
    expect(await qemusUsing(store2.root)).toBe(0);

    // The same spec again goes to w2, which now holds every layer: all cached, no VM.
    const again = submit("killed.spec", "--json");
    expect(await again.exit, again.stderr).toBe(0);
    const events = again.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; event?: { type: string; worker?: string } });
    expect(events.find((e) => e.event?.type === "attempt")?.event?.worker).toBe("w2");
    expect(events.filter((e) => e.type === "cached")).toHaveLength(4);

    const ls = start(["fleet", "ls", "--queue", queue, "--json"]);
    expect(await ls.exit, ls.stderr).toBe(0);
    const workers = ls.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { name: string; state: string });
    expect(workers.find((w) => w.name === "w1")?.state).toBe("gone");
    expect(workers.find((w) => w.name === "w2")?.state).toBe("active");
  });
});
