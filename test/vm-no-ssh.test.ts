import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startVm, type VmEvent } from "@strata/qemu-runner";
import { ensureKeyPair, SshTimeoutError, waitForSsh } from "@strata/ssh-transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A guest that never answers: a blank 16 MiB disk, nothing bootable. Needs no Debian image.
describe("a guest that never answers SSH", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-vm-blank-"));
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(dir, "blank.qcow2"), "16M"]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("times out with the serial console's tail, and leaves no QEMU behind", async () => {
    const keys = await ensureKeyPair(join(dir, "keys"));
    const events: VmEvent[] = [];
    let pid = 0;
    {
      await using vm = await startVm({
        image: join(dir, "blank.qcow2"),
        memoryMiB: 128,
        cpus: 1,
        cacheDir: join(dir, "cache"),
        onEvent: (e) => events.push(e),
      });
      pid = vm.pid;
      expect(vm.accel).toBe(process.env.STRATA_EXPECT_KVM === "1" ? "kvm" : "tcg");
      expect(events.some((e) => e.type === "started")).toBe(true);
      const status = await vm.qmp.execute<{ status: string }>("query-status");
      expect(status.status).toBe("running");
      const started = Date.now();
      const error = await waitForSsh({
        port: vm.sshPort,
        username: "opam",
        privateKey: { path: keys.privateKeyPath },
        timeoutMs: 15_000,
        signal: vm.signal,
        diagnostics: () => vm.consoleTail(),
      }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(25_000);
      expect(error).toBeInstanceOf(SshTimeoutError);
      const timeout = error as SshTimeoutError;
      expect(timeout.code).toBe("SSH_TIMEOUT");
      expect(timeout.attempts).toBeGreaterThan(1);
      expect(timeout.consoleTail).toMatch(/No bootable device/);
      expect(timeout.message).toMatch(/No bootable device/);
      expect(vm.running).toBe(true);
      // The runner's own boot guard: a readiness check that never succeeds.
      const never = (signal: AbortSignal) =>
        new Promise<never>((_, reject) =>
          signal.addEventListener("abort", () => reject(signal.reason)),
        );
      await expect(vm.waitUntilReady(never, { timeoutMs: 1000 })).rejects.toMatchObject({
        code: "QEMU_BOOT_TIMEOUT",
        consoleTail: expect.stringMatching(/No bootable device/),
      });
      // QEMU dying during the wait ends it at once with QEMU_EXITED and the console tail.
      const waiting = waitForSsh({
        port: vm.sshPort,
        username: "opam",
        privateKey: { path: keys.privateKeyPath },
        timeoutMs: 60_000,
        signal: vm.signal,
      });
      await vm.qmp.execute("quit");
      await expect(waiting).rejects.toMatchObject({
        code: "QEMU_EXITED",
        consoleTail: expect.stringMatching(/No bootable device/),
      });
      expect(vm.running).toBe(false);
    }
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
