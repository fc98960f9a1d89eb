import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { QemuStateError } from "./errors.js";
import { startBareQemu } from "./test-support.js";
import type { Vm } from "./vm.js";
import { saveVmState } from "./vm-state.js";

describe("saveVmState (real QEMU, no guest)", () => {
  let dir = "";
  let child: ReturnType<typeof execa> | undefined;
  afterEach(async () => {
    child?.kill("SIGKILL");
    await child?.catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A QEMU with 64 MiB of RAM and no devices, as much of a Vm as saveVmState uses. */
  async function startQemu(): Promise<Vm> {
    dir = await mkdtemp(join(tmpdir(), "strata-vmstate-"));
    const sock = join(dir, "qmp.sock");
    const started = await startBareQemu(sock, [
      "-machine",
      "q35",
      "-accel",
      "tcg",
      "-m",
      "64",
      "-S",
    ]);
    child = started.child;
    const { qmp } = started;
    const abort = new AbortController();
    const exited = child.then(() => abort.abort(new Error("QEMU exited")));
    return { qmp, exited, signal: abort.signal } as unknown as Vm;
  }

  it("returns only once zstd has written the whole file under its name; nothing else is left", async () => {
    const vm = await startQemu();
    const path = join(dir, "out", "vmstate.zst");
    execFileSync("mkdir", [join(dir, "out")]);
    await saveVmState(vm, path);
    // Complete the moment it returns: zstd's frame checks out.
    execFileSync("zstd", ["-q", "-t", path]);
    expect(await readdir(join(dir, "out"))).toEqual(["vmstate.zst"]);
  });

  it("a save whose stream cannot be written is a QemuStateError, and leaves no file behind", async () => {
    const vm = await startQemu();
    const path = join(dir, "missing-dir", "vmstate.zst");
    await expect(saveVmState(vm, path)).rejects.toBeInstanceOf(QemuStateError);
    expect((await readdir(dir)).filter((f) => !f.endsWith(".sock"))).toEqual([]);
  });

  it("a file that cannot take its name after zstd ended is a QemuStateError too; the part is removed", async () => {
    const vm = await startQemu();
    // A directory holding a file where the state should go: the rename fails after the stream.
    const path = join(dir, "vmstate.zst");
    execFileSync("mkdir", ["-p", join(path, "x")]);
    await expect(saveVmState(vm, path)).rejects.toThrow(/zstd or mv exited [1-9]/);
    expect((await readdir(dir)).filter((f) => !f.endsWith(".sock"))).toEqual(["vmstate.zst"]);
    expect(await readdir(path)).toEqual(["x"]);
  });
});
