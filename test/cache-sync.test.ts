// Caches on the Debian test image, two boots in all: boot 1 fills caches by both strategies (the
// disk cache through a failing step, the copy cache through several steps, two of them at once);
// boot 2 sees what boot 1 left, then the VM is killed mid-step and the caches must be unchanged.
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CacheEvent,
  CacheTransferFailedError,
  openCaches,
  type StepCaches,
} from "@strata/cache-sync";
import { type DriveSpec, loadImageManifest, startVm, type Vm } from "@strata/qemu-runner";
import { type SshSession, waitForSsh } from "@strata/ssh-transport";
import { openStore, type Store } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const opam = { uid: 1000, gid: 1000 };
const DISK_TARGET = "/home/opam/.cache/downloads";
const COPY_TARGET = "/home/opam/copy cache";

describe("caches on a Debian guest", () => {
  let dir = "";
  let store: Store;
  const image = join(process.env.STRATA_TEST_IMAGE_DIR ?? "", "debian-bookworm.qcow2");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-cache-e2e-"));
    store = await openStore({ root: join(dir, "store") });
  });
  afterAll(async () => {
    store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function boot(name: string, drives: DriveSpec[]): Promise<{ vm: Vm; ssh: SshSession }> {
    const overlay = join(dir, `${name}.qcow2`);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay]);
    const manifest = await loadImageManifest(image);
    const vm = await startVm({ image: overlay, manifest, drives, cacheDir: join(dir, "accel") });
    try {
      const ssh = await waitForSsh({
        port: vm.sshPort,
        username: manifest.ssh.user,
        privateKey: { path: manifest.ssh.privateKey ?? "" },
        shell: manifest.shell,
        signal: vm.signal,
        diagnostics: () => vm.consoleTail(),
      });
      return { vm, ssh };
    } catch (error) {
      await vm[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** One step: caches in, the command, caches back (whatever the command's exit). */
  async function step(ssh: SshSession, caches: StepCaches, command: string) {
    await caches.attach(ssh);
    const result = await ssh.exec(command);
    await caches.detach(ssh);
    return result;
  }

  const versions = (name: string) => readdir(store.cacheDir(name));

  it("boot 1: new caches are empty and the step user's; failed steps' files are kept; first commit wins", async () => {
    const events: CacheEvent[] = [];
    await using disk = await openCaches({
      store,
      caches: [{ id: "downloads", target: DISK_TARGET }],
      os: "linux",
      user: opam,
      onEvent: (e) => events.push(e),
    });
    expect(disk.drives).toHaveLength(1);
    const { vm, ssh } = await boot("boot1", disk.drives);
    await using _vm = vm;
    await using _ssh = ssh;

    // Disk strategy: a failing step writes a download; it must survive.
    const failed = await step(
      ssh,
      disk,
      `ls -A ${DISK_TARGET}; echo archive > ${DISK_TARGET}/first.tgz && stat -c %u:%g ${DISK_TARGET} ${DISK_TARGET}/first.tgz && findmnt -no FSTYPE ${DISK_TARGET}; exit 3`,
    );
    expect(failed.exitCode).toBe(3);
    expect(failed.stdout).toBe("1000:1000\n1000:1000\next4\n");
    expect((await ssh.exec(`findmnt ${DISK_TARGET}`)).exitCode).toBe(1); // unmounted again

    // Copy strategy, user given by name, several steps in this boot.
    const copy = (target = COPY_TARGET) =>
      openCaches({
        store,
        caches: [{ id: "copied", target }],
        os: "linux",
        strategy: "copy",
        user: { name: "opam" },
        onEvent: (e) => events.push(e),
      });
    {
      await using c = await copy();
      const r = await step(
        ssh,
        c,
        `cd "${COPY_TARGET}" && ls -A | wc -l && echo one > one && stat -c %U . one; exit 1`,
      );
      expect(r.stdout).toBe("0\nopam\nopam\n");
      expect((await ssh.exec(`ls -A "${COPY_TARGET}"`)).stdout).toBe(""); // not left in the layer
      expect(await c.commit()).toEqual([{ cache: "copied", outcome: "committed", generation: 1 }]);
    }
    {
      await using c = await copy();
      const r = await step(
        ssh,
        c,
        `cd "${COPY_TARGET}" && cat one && head -c 3000000 /dev/urandom > big`,
      );
      expect(r.stdout).toBe("one\n");
      expect((await c.commit())[0]?.generation).toBe(2);
    }
    {
      // Two builds at once: both work; the first to commit wins, the other's changes are dropped.
      await using a = await copy("/tmp/a");
      await using b = await copy("/tmp/b");
      await a.attach(ssh);
      await b.attach(ssh);
      await ssh.exec("touch /tmp/a/from-a /tmp/b/from-b", { check: true });
      await a.detach(ssh);
      await b.detach(ssh);
      expect((await b.commit())[0]?.outcome).toBe("committed");
      expect(await a.commit()).toEqual([{ cache: "copied", outcome: "stale", generation: 3 }]);
      expect((await readdir(join(store.cacheDir("copied"), "v3.tree"))).sort()).toEqual([
        "big",
        "from-b",
        "one",
      ]);
    }
    expect(
      events.some((e) => e.type === "transfer" && e.direction === "out" && e.bytes > 3e6),
    ).toBe(true);

    const stopped = await vm.shutdown();
    expect(stopped.graceful).toBe(true);
    expect(await disk.commit()).toEqual([
      { cache: "downloads", outcome: "committed", generation: 1 },
    ]);
    expect(await versions("downloads")).toEqual(["v1.qcow2"]);
  });

  it("boot 2: the next build sees the caches; a VM killed mid-step leaves them as they were", async () => {
    await using caches = await openCaches({
      store,
      caches: [
        { id: "downloads", target: DISK_TARGET },
        { id: "copied", target: COPY_TARGET },
      ],
      os: "linux",
      user: opam,
    });
    const { vm, ssh } = await boot("boot2", caches.drives);
    await using _vm = vm;
    await using _ssh = ssh;
    await caches.attach(ssh);
    const seen = await ssh.exec(`cat ${DISK_TARGET}/first.tgz && cd "${COPY_TARGET}" && ls`);
    expect(seen.stdout).toBe("archive\nbig\nfrom-b\none\n");

    // The step writes, then the VM dies under it.
    await ssh.exec(
      `echo lost > ${DISK_TARGET}/second.tgz && sync && echo lost > "${COPY_TARGET}/lost"`,
      {
        check: true,
      },
    );
    const running = ssh.exec("sleep 600").catch((e: unknown) => e);
    await vm.kill();
    expect(await running).toBeInstanceOf(Error);
    const error = await caches.detach(ssh).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheTransferFailedError);
    expect((error as CacheTransferFailedError).failures.map((f) => f.cache)).toEqual([
      "downloads",
      "copied",
    ]);
    expect(await caches.commit()).toEqual([
      { cache: "downloads", outcome: "incomplete", generation: 1 },
      { cache: "copied", outcome: "incomplete", generation: 3 },
    ]);
    expect(await versions("downloads")).toEqual(["v1.qcow2"]);
    expect(await versions("copied")).toEqual(["v3.tree"]);
    // The disk cache still holds exactly what boot 1 committed.
    const raw = join(dir, "downloads.raw");
    execFileSync("qemu-img", [
      "convert",
      "-O",
      "raw",
      join(store.cacheDir("downloads"), "v1.qcow2"),
      raw,
    ]);
    const ls = execFileSync("debugfs", ["-R", "ls /", raw], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    expect(ls.toString()).toMatch(/first\.tgz/);
    expect(ls.toString()).not.toMatch(/second\.tgz/);
  });
});
