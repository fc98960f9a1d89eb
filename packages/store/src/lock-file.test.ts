import { randomUUID } from "node:crypto";
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StepWaitTimeoutError } from "./errors.js";
import {
  isLockHeld,
  type LockOwner,
  lockAgeMs,
  readLockOwner,
  releaseLockFile,
  tryAcquireLockFile,
} from "./lock-file.js";
import { openStore } from "./store.js";
import {
  createBaseImage,
  layerId,
  tempDir,
  typescriptRunner,
  writePattern,
} from "./test-support.js";

const HOLDER = fileURLToPath(new URL("./test-lock-holder.ts", import.meta.url));
const RULES = { staleMs: 800, heartbeatMs: 50 };
let dir: ReturnType<typeof tempDir>;

beforeEach(() => {
  dir = tempDir("strata-lock-");
});
afterEach(() => dir.remove());

/** A lock record as a process under another hostname (a restarted container) left it. */
function writeForeignLock(path: string, ageMs: number): LockOwner {
  const owner = { pid: 1, host: "container-before-restart", start: "1", token: randomUUID() };
  writeFileSync(path, JSON.stringify(owner));
  const then = new Date(Date.now() - ageMs);
  utimesSync(path, then, then);
  return owner;
}

describe("lock liveness across hostnames", () => {
  it("keeps a foreign lock with a fresh heartbeat, breaks one whose heartbeat stopped", () => {
    const path = join(dir.path, "a.lock");
    const owner = writeForeignLock(path, 100);
    expect(tryAcquireLockFile(path, RULES)).toEqual({ heldBy: owner });
    writeForeignLock(path, 5_000);
    const taken = tryAcquireLockFile(path, RULES);
    expect("acquired" in taken).toBe(true);
    if ("acquired" in taken) {
      expect(readLockOwner(path)?.token).toBe(taken.acquired.token);
      releaseLockFile(path, taken.acquired);
    }
  });

  it("a live holder's heartbeat keeps its lock fresh; once it is killed the lock goes stale", async () => {
    const path = join(dir.path, "held.lock");
    // Roomier than RULES: on a loaded machine (CI with VMs beside it) the holder's timer has been
    // seen to run more than 2.5 s late. 120 missed heartbeats before the lock counts as stale.
    const rules = { staleMs: 6_000, heartbeatMs: 50 };
    const runner = typescriptRunner();
    const child = execa(runner.command, [...runner.args, HOLDER, path], { reject: false });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on("data", (d: Buffer) => d.toString().includes("held") && resolve());
        void child.then((r) => reject(new Error(`holder ended: ${r.stderr}`)));
      });
      // Pretend the holder ran under another hostname: only its heartbeat can tell it is alive.
      const owner = readLockOwner(path)!;
      writeFileSync(path, JSON.stringify({ ...owner, host: "container-before-restart" }));
      // Held for twice the stale age, so only the heartbeat can explain it.
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, rules.staleMs / 2));
        expect(isLockHeld(path, rules)).toBe(true);
      }
      expect(lockAgeMs(path)).toBeLessThan(rules.staleMs);
      child.kill("SIGKILL");
      await child;
      await expect.poll(() => isLockHeld(path, rules), { timeout: 20_000 }).toBe(false);
      expect("acquired" in tryAcquireLockFile(path, rules)).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("stops touching a lock once released", async () => {
    const path = join(dir.path, "b.lock");
    const taken = tryAcquireLockFile(path, RULES);
    if (!("acquired" in taken)) throw new Error("not acquired");
    const record = readFileSync(path, "utf8");
    releaseLockFile(path, taken.acquired);
    // Someone else's lock at the same path must not be kept alive by our old heartbeat.
    writeForeignLock(path, 5_000);
    await new Promise((r) => setTimeout(r, RULES.heartbeatMs * 4));
    expect(lockAgeMs(path)).toBeGreaterThan(4_000);
    expect(record).toContain(taken.acquired.token);
  });
});

describe("waiting for a step another host builds", () => {
  const id = layerId("step held elsewhere");

  it("gives up with STEP_WAIT_TIMEOUT while the owner's heartbeat goes on", async () => {
    await createBaseImage(dir.path);
    await using store = await openStore({
      root: dir.path,
      lockRules: RULES,
      stepWaitTimeoutMs: 1_500,
    });
    const lock = join(dir.path, "result-tmp", `${id}.lock`);
    writeForeignLock(lock, 0);
    const beat = setInterval(() => utimesSync(lock, new Date(), new Date()), 50);
    try {
      const started = Date.now();
      const error = await store
        .build(id, { base: "test-base", description: "held" }, async () => {})
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StepWaitTimeoutError);
      expect((error as StepWaitTimeoutError).code).toBe("STEP_WAIT_TIMEOUT");
      expect((error as Error).message).toContain("container-before-restart");
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    } finally {
      clearInterval(beat);
    }
  });

  it("takes the step over once the owner's heartbeat stops", async () => {
    await createBaseImage(dir.path);
    await using store = await openStore({ root: dir.path, lockRules: RULES });
    const lock = join(dir.path, "result-tmp", `${id}.lock`);
    writeForeignLock(lock, 0);
    const result = await store.build(id, { base: "test-base", description: "taken over" }, (l) =>
      writePattern(l.image, 0x17, 0, 4096),
    );
    expect(result).toMatchObject({ id, cached: false });
    expect(store.lookup(id)).toBeDefined();
  });
});
