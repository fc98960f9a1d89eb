import { describe, expect, it } from "vitest";
import { QemuOptionsError } from "./errors.js";
import { startVm } from "./start-vm.js";

describe("startVm option checks (real QEMU, no guest)", () => {
  it("lists every problem before starting anything", async () => {
    const error = await startVm({
      image: "",
      memoryMiB: 8,
      cpus: 0,
      accel: "hvf" as "kvm",
      sshPort: 70000,
      drives: [{ path: "" }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QemuOptionsError);
    expect((error as QemuOptionsError).code).toBe("QEMU_INVALID_OPTIONS");
    expect((error as QemuOptionsError).problems.map((p) => p.split(":")[0])).toEqual([
      "image",
      "memoryMiB",
      "cpus",
      "accel",
      "sshPort",
      "drives[0].path",
    ]);
  });

  it("fails with QEMU_START_FAILED, the command line and stderr when QEMU cannot open the disk", async () => {
    const error = await startVm({
      image: "/nonexistent/disk.qcow2",
      accel: "tcg",
      memoryMiB: 64,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "QEMU_START_FAILED", timedOut: false, exitCode: 1 });
    const start = error as { argv: string[]; stderrTail: string };
    expect(start.argv[0]).toBe("qemu-system-x86_64");
    expect(start.stderrTail).toMatch(/nonexistent\/disk\.qcow2/);
  });
});
