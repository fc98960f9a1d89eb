import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildQemuArgv } from "./argv.js";
import { backingChainDepth, readQcow2Backing } from "./backing-chain.js";
import { continueVm, snapshotRootDisk } from "./live-snapshot.js";
import { ARGV_CONFIG, startBareQemu } from "./test-support.js";
import type { Vm } from "./vm.js";
import { dumpVmState } from "./vm-state.js";

let dir = "";
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-chain-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const img = (...args: string[]) => execFileSync("qemu-img", args, { cwd: dir, stdio: "pipe" });
/** `name` as a qcow2 on `backing` (a name relative to `dir`, or absolute), or standalone. */
const overlay = (name: string, backing?: string) =>
  backing
    ? img("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, name)
    : img("create", "-q", "-f", "qcow2", name, "64M");

describe("backingChainDepth", () => {
  it("follows relative names from each image's directory, and absolute ones", async () => {
    overlay("base.qcow2");
    execFileSync("mkdir", [join(dir, "sub")]);
    overlay("sub/l1.qcow2", "../base.qcow2");
    overlay("l2.qcow2", join(dir, "sub", "l1.qcow2"));
    overlay("l3.qcow2", "l2.qcow2");
    expect(await readQcow2Backing(join(dir, "l3.qcow2"))).toBe("l2.qcow2");
    expect(await backingChainDepth(join(dir, "l3.qcow2"), 64)).toBe(3);
    expect(await backingChainDepth(join(dir, "base.qcow2"), 64)).toBe(0);
    expect(await backingChainDepth(join(dir, "l3.qcow2"), 2)).toBe(2);
  });

  it("counts a raw backing file and stops there; a missing file or a json: name ends the count", async () => {
    await writeFile(join(dir, "base.raw"), Buffer.alloc(1 << 20));
    img("create", "-q", "-f", "qcow2", "-F", "raw", "-b", "base.raw", "top.qcow2");
    expect(await readQcow2Backing(join(dir, "base.raw"))).toBeNull();
    expect(await backingChainDepth(join(dir, "top.qcow2"), 64)).toBe(1);
    expect(await backingChainDepth(join(dir, "base.raw"), 64)).toBe(0);
    overlay("a.qcow2");
    overlay("b.qcow2", "a.qcow2");
    await rm(join(dir, "a.qcow2"));
    expect(await backingChainDepth(join(dir, "b.qcow2"), 64)).toBe(1);
    img("create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", 'json:{"x":1}', "j.qcow2", "64M");
    expect(await backingChainDepth(join(dir, "j.qcow2"), 64)).toBe(0);
  });
});

describe("a state save keeps the root disk chain's page cache (real QEMU, no guest)", () => {
  let child: ReturnType<typeof execa> | undefined;
  afterEach(async () => {
    child?.kill("SIGKILL");
    await child?.catch(() => {});
    child = undefined;
  });

  /** Bytes of `file` in the host's page cache (util-linux fincore). */
  const cached = (file: string) =>
    Number(
      execFileSync("fincore", ["-n", "-b", "-o", "RES", join(dir, file)])
        .toString()
        .trim(),
    );
  const MiB = 2 ** 20;

  it("neither the save nor `cont` drops it, before or after a live snapshot; the overlay keeps its relative backing name", async () => {
    // Three images with 8 MiB of data each, written just now: in the page cache.
    overlay("base.qcow2");
    overlay("l1.qcow2", "base.qcow2");
    overlay("l2.qcow2", "l1.qcow2");
    for (const f of ["base.qcow2", "l1.qcow2", "l2.qcow2"])
      execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 0xab 0 8M", join(dir, f)]);
    // The root disk's -drive, from the real argv builder.
    const argv = buildQemuArgv({
      ...ARGV_CONFIG,
      disk: {
        path: join(dir, "l2.qcow2"),
        interface: "virtio",
        backingDepth: await backingChainDepth(join(dir, "l2.qcow2"), 64),
      },
    });
    const drive = argv[argv.indexOf("-drive") + 1]!;
    const started = await startBareQemu(join(dir, "qmp.sock"), [
      ...["-machine", "q35", "-accel", "tcg", "-m", "64", "-S"],
      ...["-drive", drive, "-device", "virtio-blk-pci,drive=disk0"],
    ]);
    child = started.child;
    const abort = new AbortController();
    const exited = child.then(() => abort.abort(new Error("QEMU exited")));
    const vm = { qmp: started.qmp, exited, signal: abort.signal, runDir: dir } as unknown as Vm;

    await dumpVmState(vm, join(dir, "one.raw"));
    await continueVm(vm);
    for (const f of ["base.qcow2", "l1.qcow2", "l2.qcow2"])
      expect(cached(f), `${f} after a save and cont`).toBeGreaterThanOrEqual(8 * MiB);

    await vm.qmp.execute("stop");
    overlay("l3.qcow2", "l2.qcow2");
    await snapshotRootDisk(vm, join(dir, "l3.qcow2"));
    // The device writes to l3 now (a json: name: the chain's nodes have options of their own).
    const [root] = await vm.qmp.execute<{ inserted: { file: string } }[]>("query-block");
    const top = JSON.parse(root!.inserted.file.replace(/^json:/, "")) as {
      file: { filename: string };
    };
    expect(top.file.filename).toBe(join(dir, "l3.qcow2"));
    expect(await readQcow2Backing(join(dir, "l3.qcow2"))).toBe("l2.qcow2");
    await vm.qmp.execute("human-monitor-command", {
      "command-line": 'qemu-io disk0 "write -P 0xcd 0 8M"',
    });
    await dumpVmState(vm, join(dir, "two.raw"));
    await continueVm(vm);
    for (const f of ["base.qcow2", "l1.qcow2", "l2.qcow2", "l3.qcow2"])
      expect(cached(f), `${f} after a snapshot, a save and cont`).toBeGreaterThanOrEqual(8 * MiB);
  });
});
