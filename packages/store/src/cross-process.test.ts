import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StepFailedError } from "./errors.js";
import { openStore, type Store } from "./store.js";
import { createBaseImage, layerId, tempDir, typescriptRunner } from "./test-support.js";

const CHILD = fileURLToPath(new URL("./test-child.ts", import.meta.url));
let dir: ReturnType<typeof tempDir>;
let store: Store;
const children: ResultPromise[] = [];

beforeEach(async () => {
  dir = tempDir();
  await createBaseImage(dir.path);
  store = await openStore({ root: dir.path });
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill("SIGKILL");
    await child.catch(() => {});
  }
  store.close();
  dir.remove();
});

/** Starts a second strata process; `output()` is what it printed so far. */
function spawnChild(config: Record<string, unknown>) {
  const runner = typescriptRunner();
  const child = execa(runner.command, [...runner.args, CHILD], {
    env: { STRATA_TEST_CHILD: JSON.stringify({ root: dir.path, base: "test-base", ...config }) },
    reject: false,
    all: true,
  });
  children.push(child);
  let output = "";
  child.all?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(output)) {
      if (child.exitCode !== null) throw new Error(`child exited early:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, output: () => output, waitFor };
}

describe("builds across processes", () => {
  it("runs a step once for two processes; the waiter sees the log from the first byte", async () => {
    const id = layerId("shared-across");
    const other = spawnChild({ id, mode: "slow", lines: 60 });
    await other.waitFor(/line 3\n/);
    let log = "";
    let ran = false;
    const result = await store.build(
      id,
      { base: "test-base", description: "here", onLog: (chunk) => (log += chunk) },
      async () => {
        ran = true;
      },
    );
    expect(result).toEqual({ id, cached: false, shared: true });
    expect(ran).toBe(false);
    await other.child;
    const expected = other.output().replace(/RESULT .*\n$/, "");
    expect(log).toBe(expected);
    expect(log).toMatch(/^pid \d+ building\nline 0\n/);
    expect(log).toMatch(/line 59\n$/);
    expect(other.output()).toMatch(/RESULT .*"shared":false/);
    expect(store.lookup(id)?.description).toBe("child slow");
  });

  it("a failure of the other process's step reaches the waiter as StepFailedError", async () => {
    const id = layerId("fails-across");
    const other = spawnChild({ id, mode: "fail", lines: 30 });
    await other.waitFor(/line 1\n/);
    const waiting = store.build(id, { base: "test-base", description: "x" }, async () => {});
    await expect(waiting).rejects.toBeInstanceOf(StepFailedError);
    await expect(waiting).rejects.toThrow(/failed on purpose/);
    expect(store.lookup(id)).toBeUndefined();
  });

  it("when the other process's only client cancels, the waiter runs the step itself", async () => {
    const id = layerId("cancelled-across");
    const other = spawnChild({ id, mode: "cancel" });
    await other.waitFor(/ready\n/);
    let ran = false;
    let log = "";
    const waiting = store.build(
      id,
      { base: "test-base", description: "mine", onLog: (chunk) => (log += chunk) },
      async () => {
        ran = true;
      },
    );
    await expect.poll(() => log).toContain("ready\n"); // attached to the other run
    other.child.kill("SIGUSR2");
    expect(await waiting).toEqual({ id, cached: false, shared: false });
    expect(ran).toBe(true);
    const exit = await other.child;
    expect(exit.exitCode).toBe(1);
    expect(other.output()).toMatch(/ready\nERROR STEP_CANCELLED\n$/);
    expect(store.lookup(id)?.description).toBe("mine");
  });

  it("after a SIGKILL mid-step, a waiter takes over and a reopen is consistent", async () => {
    const id = layerId("killed");
    const other = spawnChild({ id, mode: "hang" });
    await other.waitFor(/ready\n/);
    const tmp = join(dir.path, "result-tmp", id);
    // A store opened meanwhile must not wipe a live builder's directory.
    const second = await openStore({ root: dir.path });
    second.close();
    expect(existsSync(join(tmp, "rootfs", "image.qcow2"))).toBe(true);

    let log = "";
    const takeOver = store.build(
      id,
      { base: "test-base", description: "mine", onLog: (chunk) => (log += chunk) },
      async (layer) => layer.log("rebuilt here\n"),
    );
    await expect.poll(() => log).toContain("ready\n"); // attached to the other run
    expect(other.child.exitCode).toBeNull(); // still alive, still holding the lock
    other.child.kill("SIGKILL");
    expect(await takeOver).toEqual({ id, cached: false, shared: false });
    expect(log).toMatch(/ready\nrebuilt here\n$/);
    expect(store.lookup(id)?.description).toBe("mine");

    const id2 = layerId("killed-2");
    const victim = spawnChild({ id: id2, mode: "hang" });
    await victim.waitFor(/ready\n/);
    victim.child.kill("SIGKILL");
    expect((await victim.child).signal).toBe("SIGKILL");
    store.close();
    store = await openStore({ root: dir.path });
    expect(store.recovery.removedLeftovers).toBeGreaterThan(0);
    expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
    expect(store.lookup(id2)).toBeUndefined();
    expect(existsSync(join(dir.path, "result", id2))).toBe(false);
    expect((await store.check()).problems).toEqual([]);
  });

  it("a process killed at any point of its commit leaves the layer whole or absent", async () => {
    // The commit's fsyncs run in the thread pool (the event loop goes on meanwhile): the kill
    // lands between them, before or after the rename, depending on the delay.
    const seen: boolean[] = [];
    for (const delayMs of [0, 1, 3, 10, 30, 2000]) {
      const id = layerId(`commit-${delayMs}`);
      const victim = spawnChild({ id, mode: "die-in-commit", delayMs });
      expect((await victim.child).signal).toBe("SIGKILL");
      store.close();
      store = await openStore({ root: dir.path });
      expect(readdirSync(join(dir.path, "result-tmp"))).toEqual([]);
      expect((await store.check()).problems).toEqual([]);
      const kept = store.lookup(id) !== undefined;
      expect(existsSync(join(dir.path, "result", id))).toBe(kept);
      seen.push(kept);
      // Either way the step is usable: a cache hit, or built again here.
      const again = await store.build(
        id,
        { base: "test-base", description: "again" },
        async (layer) => layer.log("rebuilt\n"),
      );
      expect(again.cached).toBe(kept);
    }
    // At once: before the rename (several fsyncs come first); two seconds later: committed.
    expect(seen[0]).toBe(false);
    expect(seen.at(-1)).toBe(true);
  }, 120_000);
});

describe("clean and the blobs of pulls in download/", () => {
  it("leaves them while another process pulls, and removes them once it is gone", async () => {
    const download = join(dir.path, "download");
    mkdirSync(download, { recursive: true });
    writeFileSync(join(download, "a".repeat(64)), "part of a blob");
    writeFileSync(join(download, `${layerId("x")}.qcow2`), "a disk being checked");
    const puller = spawnChild({ id: layerId("unused"), mode: "hold-downloads" });
    await puller.waitFor(/ready\n/);
    expect([...store.leases().values()]).toEqual([expect.stringMatching(/pid \d+/)]);
    expect((await store.clean()).removedLeftovers).toBe(0);
    expect(readdirSync(download)).toHaveLength(2);

    puller.child.kill("SIGKILL");
    await puller.child;
    expect((await store.clean({ dryRun: true })).removedLeftovers).toBe(2);
    expect(readdirSync(download)).toHaveLength(2);
    expect((await store.clean()).removedLeftovers).toBe(2);
    expect(readdirSync(download)).toEqual([]);
  });

  it("a pull in this process holds them the same way until it lets go", async () => {
    const download = join(dir.path, "download");
    mkdirSync(download, { recursive: true });
    writeFileSync(join(download, "b".repeat(64)), "blob");
    const hold = store.holdDownloads();
    expect((await store.clean()).removedLeftovers).toBe(0);
    hold.release();
    expect((await store.clean()).removedLeftovers).toBe(1);
    expect(readdirSync(download)).toEqual([]);
  });
});
