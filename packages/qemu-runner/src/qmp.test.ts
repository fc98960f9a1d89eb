import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { QmpCommandError } from "./errors.js";
import { listenQmp, type QmpEvent } from "./qmp.js";
import { startBareQemu } from "./test-support.js";

describe("QmpClient against a real QEMU", () => {
  let dir = "";
  let child: ReturnType<typeof execa> | undefined;
  afterEach(async () => {
    child?.kill("SIGKILL");
    await child?.catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("negotiates, runs commands by id, reports errors and the SHUTDOWN event on quit", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-qmp-"));
    const path = join(dir, "qmp.sock");
    const started = await startBareQemu(path, ["-machine", "none"]);
    child = started.child;
    const qmp = started.qmp;
    const [status, version] = await Promise.all([
      qmp.execute<{ status: string; running: boolean }>("query-status"),
      qmp.execute<{ qemu: { major: number } }>("query-version"),
    ]);
    expect(status.status).toBe("running");
    expect(version.qemu.major).toBeGreaterThanOrEqual(7);
    await expect(qmp.execute("no-such-command")).rejects.toBeInstanceOf(QmpCommandError);

    const seen: QmpEvent[] = [];
    const collecting = (async () => {
      for await (const e of qmp.events()) seen.push(e);
    })();
    const shutdown = qmp.waitForEvent("SHUTDOWN", { timeoutMs: 10_000 });
    await qmp.execute("quit");
    const event = await shutdown;
    expect(event.data?.reason).toBe("host-qmp-quit");
    await qmp.closed;
    await collecting;
    expect(seen.map((e) => e.event)).toContain("SHUTDOWN");
    const result = await child;
    expect(result.exitCode).toBe(0);
    await expect(qmp.execute("query-status")).rejects.toMatchObject({ code: "QEMU_QMP_CLOSED" });
  });

  it("times out waiting for an event that never comes", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-qmp-"));
    const path = join(dir, "qmp.sock");
    const listener = await listenQmp(path);
    child = execa(
      "qemu-system-x86_64",
      ["-machine", "none", "-nodefaults", "-display", "none", "-qmp", `unix:${path}`],
      { reject: false, stdin: "ignore" },
    );
    const qmp = await listener.accept({ timeoutMs: 10_000 });
    const started = Date.now();
    await expect(qmp.waitForEvent("SHUTDOWN", { timeoutMs: 300 })).rejects.toThrow(/Timed out/);
    expect(Date.now() - started).toBeLessThan(2000);
    const controller = new AbortController();
    const waiting = qmp.waitForEvent("RESET", { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: "QEMU_CANCELLED" });
    await qmp.close();
  });
});
