import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Ctrl-C while a command runs in the guest: the owner dies by SIGINT and takes QEMU with it.
describe("SIGINT to a process that owns a VM", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-vm-sigint-"));
    // The child runs under plain node: it needs the packages built.
    for (const pkg of ["qemu-runner", "ssh-transport"]) {
      execFileSync("pnpm", ["exec", "tsc", "-p", "tsconfig.build.json"], {
        cwd: join(here, "..", "packages", pkg),
      });
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("leaves no QEMU process behind", async () => {
    const base = join(process.env.STRATA_TEST_IMAGE_DIR!, "debian-bookworm.qcow2");
    const overlay = join(dir, "overlay.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, overlay]);
    const child = spawn(
      process.execPath,
      [join(here, "fixtures", "vm-sigint-child.mjs"), overlay, base],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    let output = "";
    let qemuPid = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on("data", (chunk: Buffer) => {
          output += chunk.toString();
          const first = output.split("\n")[0];
          if (!qemuPid && first && output.includes("\n")) qemuPid = JSON.parse(first).pid;
          if (output.includes("running\n")) resolve();
        });
        exited.then(() => reject(new Error(`child exited early: ${output}`)));
      });
      expect(qemuPid).toBeGreaterThan(0);
      expect(alive(qemuPid)).toBe(true);
      child.kill("SIGINT");
      const result = await exited;
      expect(result.signal).toBe("SIGINT");
      expect(output).not.toContain("finished");
      // The registry SIGKILLs QEMU synchronously before the child dies; allow the kernel a moment.
      for (let i = 0; i < 50 && alive(qemuPid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(qemuPid)).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      if (qemuPid && alive(qemuPid)) process.kill(qemuPid, "SIGKILL");
    }
  });
});
