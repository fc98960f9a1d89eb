import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QemuStateError } from "./errors.js";
import { startBareQemu } from "./test-support.js";
import type { Vm } from "./vm.js";
import {
  compressVmState,
  dumpVmState,
  INCOMING_ARGS,
  rawStatePath,
  resumeVmState,
} from "./vm-state.js";

/** The builder's save, in one: the raw stream with the guest paused, then compressed. */
async function saveVmState(vm: Vm, path: string): Promise<void> {
  await dumpVmState(vm, rawStatePath(path));
  await compressVmState(rawStatePath(path), path);
}

describe("dumpVmState, compressVmState (real QEMU, no guest)", () => {
  let dir = "";
  const children: ReturnType<typeof execa>[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-vmstate-"));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill("SIGKILL");
      await child.catch(() => {});
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** A QEMU with 64 MiB of RAM and no devices, as much of a Vm as dumpVmState uses. */
  async function startQemu(extra: string[] = []): Promise<Vm> {
    // Each QEMU its own run directory, as a Vm has (the migration socket lives there).
    const runDir = await mkdtemp(join(dir, "run-"));
    const sock = join(runDir, "qmp.sock");
    const started = await startBareQemu(sock, [
      ...["-machine", "q35", "-accel", "tcg", "-m", "64", "-S"],
      ...extra,
    ]);
    children.push(started.child);
    const child = started.child;
    const { qmp } = started;
    const abort = new AbortController();
    const exited = child.then(() => abort.abort(new Error("QEMU exited")));
    return { qmp, exited, signal: abort.signal, runDir } as unknown as Vm;
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
    expect((await readdir(dir)).filter((f) => !f.startsWith("run-"))).toEqual([]);
  });

  it("a file that cannot take its name after zstd ended is a QemuStateError too; the part is removed", async () => {
    const vm = await startQemu();
    // A directory holding a file where the state should go: the rename fails after the stream.
    const path = join(dir, "vmstate.zst");
    execFileSync("mkdir", ["-p", join(path, "x")]);
    await expect(saveVmState(vm, path)).rejects.toThrow(/compressing the VM state .* failed/);
    expect((await readdir(dir)).filter((f) => !f.startsWith("run-"))).toEqual(["vmstate.zst"]);
    expect(await readdir(path)).toEqual(["x"]);
  });

  it("a raw state that cannot take its name after the stream is a QemuStateError; nothing is left", async () => {
    const vm = await startQemu();
    const raw = join(dir, "vmstate.raw");
    execFileSync("mkdir", ["-p", join(raw, "x")]);
    const error = await dumpVmState(vm, raw).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QemuStateError);
    expect((error as Error).message).toMatch(/^writing .*vmstate\.raw: EISDIR/);
    expect((await readdir(dir)).filter((f) => !f.startsWith("run-"))).toEqual(["vmstate.raw"]);
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
    expect((await readdir(dir)).filter((f) => !f.startsWith("run-")).sort()).toEqual([
      "copy",
      "vmstate.zst",
    ]);
  });

  /** A state saved from a QEMU that ran, and a second QEMU waiting to load it. */
  async function savedState(): Promise<{ source: Vm; target: Vm; path: string }> {
    const source = await startQemu();
    // Run first: a state saved before the machine ever ran loads as "prelaunch", never running.
    await source.qmp.execute("cont");
    const path = join(dir, "vmstate.zst");
    await saveVmState(source, path);
    return { source, target: await startQemu([...INCOMING_ARGS]), path };
  }

  it("a saved state loads into a QEMU started with -incoming defer, which then runs", async () => {
    const { source, target, path } = await savedState();
    await resumeVmState(target, path);
    expect((await target.qmp.execute<{ status: string }>("query-status")).status).toBe("running");
    // Neither side left its migration socket behind.
    for (const vm of [source, target])
      expect(await readdir(vm.runDir)).not.toContain("migration.sock");
  });

  it("a state that is not a state is a QemuStateError, and that QEMU is gone", async () => {
    const path = join(dir, "bad.zst");
    execFileSync("sh", ["-c", `head -c 100000 /dev/urandom | zstd -q -o ${path}`]);
    const target = await startQemu([...INCOMING_ARGS]);
    await expect(resumeVmState(target, path, 20_000)).rejects.toBeInstanceOf(QemuStateError);
    await target.exited;
  });

  it("a zstd that cannot start is a QemuStateError at once (QEMU sees the stream end), not a wait", async () => {
    const { target, path } = await savedState();
    const PATH = process.env.PATH;
    process.env.PATH = join(dir, "no-tools");
    try {
      const started = Date.now();
      await expect(resumeVmState(target, path, 60_000)).rejects.toBeInstanceOf(QemuStateError);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      process.env.PATH = PATH;
    }
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
    expect((await readdir(dir)).filter((f) => !f.startsWith("run-"))).toEqual([]);
  });
});
