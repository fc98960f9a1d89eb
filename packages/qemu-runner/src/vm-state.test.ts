import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { QemuStateError } from "./errors.js";
import { startBareQemu } from "./test-support.js";
import type { Vm } from "./vm.js";
import { compressVmState, dumpVmState, rawStatePath } from "./vm-state.js";

/** The builder's save, in one: the raw stream with the guest paused, then compressed. */
async function saveVmState(vm: Vm, path: string): Promise<void> {
  await dumpVmState(vm, rawStatePath(path));
  await compressVmState(rawStatePath(path), path);
}

describe("dumpVmState, compressVmState (real QEMU, no guest)", () => {
  let dir = "";
  let child: ReturnType<typeof execa> | undefined;
  afterEach(async () => {
    child?.kill("SIGKILL");
    await child?.catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A QEMU with 64 MiB of RAM and no devices, as much of a Vm as dumpVmState uses. */
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
    await expect(saveVmState(vm, path)).rejects.toThrow(/compressing the VM state .* failed/);
    expect((await readdir(dir)).filter((f) => !f.endsWith(".sock"))).toEqual(["vmstate.zst"]);
    expect(await readdir(path)).toEqual(["x"]);
  });

  it("a raw state that cannot take its name after the stream is a QemuStateError; nothing is left", async () => {
    const vm = await startQemu();
    const raw = join(dir, "vmstate.raw");
    execFileSync("mkdir", ["-p", join(raw, "x")]);
    await expect(dumpVmState(vm, raw)).rejects.toThrow(/writing .* exited [1-9]/);
    expect((await readdir(dir)).filter((f) => !f.endsWith(".sock"))).toEqual(["vmstate.raw"]);
    expect(await readdir(raw)).toEqual(["x"]);
  });

  it("compresses the dumped stream byte for byte into the state, apart from the guest, and removes the raw one", async () => {
    const vm = await startQemu();
    const path = join(dir, "vmstate.zst");
    const raw = rawStatePath(path);
    await dumpVmState(vm, raw);
    // QEMU's stream: a migration header ("QEVM"), whole when the dump returns.
    const stream = await readFile(raw);
    expect(stream.subarray(0, 4).toString("latin1")).toBe("QEVM");
    await copyFile(raw, join(dir, "copy"));
    // The guest goes on meanwhile: the compression needs nothing from QEMU.
    await vm.qmp.execute("cont");
    await compressVmState(raw, path);
    expect(execFileSync("zstd", ["-q", "-dc", path]).equals(stream)).toBe(true);
    expect((await readdir(dir)).filter((f) => !f.endsWith(".sock")).sort()).toEqual([
      "copy",
      "vmstate.zst",
    ]);
  });

  it("a cancelled compression leaves neither the state nor its raw stream", async () => {
    const vm = await startQemu();
    const path = join(dir, "vmstate.zst");
    await dumpVmState(vm, rawStatePath(path));
    const abort = new AbortController();
    abort.abort(new Error("cancelled by the test"));
    await expect(compressVmState(rawStatePath(path), path, abort.signal)).rejects.toThrow(
      "cancelled by the test",
    );
    expect((await readdir(dir)).filter((f) => !f.endsWith(".sock"))).toEqual([]);
  });
});
