import { execFileSync } from "node:child_process";
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { createOwnedTempDir, OWNER_PID_FILE, reapStaleVms } from "./stale.js";
import { startBareQemu } from "./test-support.js";

describe("reapStaleVms (real QEMU processes, no guest)", () => {
  let base = "";
  let child: ReturnType<typeof execa> | undefined;
  afterEach(async () => {
    child?.kill("SIGKILL");
    await child?.catch(() => {});
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("kills QEMU whose owner is dead, spares one whose owner lives", async () => {
    base = await mkdtemp(join(tmpdir(), "strata-stale-"));
    const orphanDir = join(base, "strata-vm-orphan");
    const ownedDir = join(base, "strata-vm-owned");
    await mkdir(orphanDir);
    await mkdir(ownedDir);
    // A pid that certainly belonged to a process that has exited.
    const deadPid = Number(
      execFileSync("sh", ["-c", "sh -c 'echo $$'"], { encoding: "utf8" }).trim(),
    );
    await writeFile(join(orphanDir, "owner.pid"), `${deadPid}\n`);
    await writeFile(join(ownedDir, "owner.pid"), `${process.pid}\n`);
    await writeFile(join(ownedDir, "qemu.pid"), `${process.pid}\n`);
    const sock = join(base, "qmp.sock");
    const pidFile = join(orphanDir, "qemu.pid");
    const started = await startBareQemu(sock, ["-machine", "none", "-pidfile", pidFile]);
    child = started.child;
    const qmp = started.qmp; // connected: the pid file exists
    expect(Number(await readFile(pidFile, "utf8"))).toBe(child.pid);
    expect(await reapStaleVms(base)).toEqual([child.pid]);
    expect((await child).signal).toBe("SIGKILL");
    await qmp.closed;
    expect(await reapStaleVms(base)).toEqual([]);
    expect(await readFile(join(ownedDir, "owner.pid"), "utf8")).toBe(`${process.pid}\n`);
  });

  it("removes owned temp directories of dead owners, keeps live ones and unowned ones", async () => {
    base = await mkdtemp(join(tmpdir(), "strata-stale-"));
    const live = await createOwnedTempDir("strata-shell-", base);
    expect(await readFile(join(live, OWNER_PID_FILE), "utf8")).toBe(`${process.pid}\n`);
    const dead = await createOwnedTempDir("strata-shell-", base);
    const deadPid = Number(
      execFileSync("sh", ["-c", "sh -c 'echo $$'"], { encoding: "utf8" }).trim(),
    );
    await writeFile(join(dead, OWNER_PID_FILE), `${deadPid}\n`);
    await writeFile(join(dead, "overlay.qcow2"), "a shell's overlay");
    const unowned = join(base, "strata-other");
    await mkdir(unowned);
    expect(await reapStaleVms(base)).toEqual([]);
    const exists = (p: string) =>
      access(p).then(
        () => true,
        () => false,
      );
    expect(await exists(dead)).toBe(false);
    expect(await exists(live)).toBe(true);
    expect(await exists(unowned)).toBe(true);
    await expect(createOwnedTempDir("other-", base)).rejects.toThrow(/must start with "strata-"/);
  });
});
