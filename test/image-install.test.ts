import { execFile, execFileSync } from "node:child_process";
import { closeSync, openSync, readSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  exportTaskclusterImage,
  importTaskclusterImage,
  installImage,
  runImage,
} from "@strata/image-builder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type InstallerIsos,
  MARKER_OFFSET_MIB,
  MARKER_PREFIX,
  makeInstallerIsos,
} from "./support/installer-iso.js";
import { testImageDir } from "./support/test-store.js";

const IMAGE_CLI = join(
  import.meta.dirname,
  "..",
  "apps",
  "image-builder",
  "bin",
  "strata-image.js",
);
const MACHINE = {
  version: 1,
  uuid: "3f2b8c1e-5d4a-4b6c-9e7f-0a1b2c3d4e5f",
  chipset: "pc-i440fx-2.8",
  network: "e1000",
  mac: "aa:54:1a:30:5c:de",
  memory: 256,
  keyboardLayout: "en-us",
};

/** The marker line the test installer wrote at MARKER_OFFSET_MIB of the image's disk. */
function readMarker(image: string, scratch: string): string {
  const raw = join(scratch, "marker.raw");
  execFileSync("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", image, raw]);
  try {
    const fd = openSync(raw, "r");
    const buf = Buffer.alloc(200);
    readSync(fd, buf, 0, buf.length, MARKER_OFFSET_MIB * 2 ** 20);
    closeSync(fd);
    return buf.toString("latin1").split("\n")[0] ?? "";
  } finally {
    rmSync(raw, { force: true });
  }
}

/** Whether a QEMU of one of this file's images is still running. */
const qemuRunning = () =>
  /guest=(strata-tc-|never-done)/.test(
    execFileSync("sh", ["-c", "pgrep -af '^qemu-system' || true"]).toString(),
  );

// Three boots of a tiny test OS under TCG (each ~15-40 s): the install (with taskcluster's
// machine.json), an installer that never finishes (--timeout), and `run` on the installed image
// after it went through a taskcluster archive.
describe("strata-image install from an installer ISO, run, and taskcluster archives", () => {
  let dir = "";
  let baseDir = "";
  let isos: InstallerIsos;
  beforeAll(async () => {
    const image = testImageDir();
    isos = await makeInstallerIsos(
      join(image, "debian-bookworm.vmlinuz"),
      join(image, "debian-bookworm.initrd"),
    );
    dir = await mkdtemp(join(tmpdir(), "strata-install-"));
    baseDir = join(dir, "store", "base-image");
    await mkdir(baseDir, { recursive: true });
    await writeFile(join(dir, "machine.json"), JSON.stringify(MACHINE));
  });
  afterAll(async () => {
    await isos?.[Symbol.asyncDispose]();
    await rm(dir, { recursive: true, force: true });
  });

  it("installs on the machine machine.json defines, recorded in the manifest", async () => {
    const stages: string[] = [];
    const done = await installImage({
      baseImageDir: baseDir,
      name: "strata-tc-os",
      bootIso: isos.install,
      sizeGiB: 1,
      machineFile: join(dir, "machine.json"),
      timeoutMs: 600_000,
      onProgress: (e) => (e.type === "stage" ? stages.push(e.stage) : undefined),
    });
    expect(stages).toContain("install");
    // The installer saw the machine's UUID through DMI, and wrote it to the new disk.
    expect(readMarker(done.image, dir)).toBe(`${MARKER_PREFIX} uuid=${MACHINE.uuid}`);
    const manifest = JSON.parse(await readFile(done.manifestPath, "utf8"));
    expect(manifest.machine).toMatchObject({ uuid: MACHINE.uuid, chipset: "pc-i440fx-2.8" });
    expect(manifest.ssh).toBe(false);
    expect((await readdir(baseDir)).sort()).toEqual(["strata-tc-os.json", "strata-tc-os.qcow2"]);
  });

  it("gives up on an installer that never powers off, with the console tail, leaving nothing", async () => {
    const before = await readdir(baseDir);
    const r = await promisify(execFile)(
      "node",
      [
        IMAGE_CLI,
        "install",
        "never-done",
        `--store=qemu:${join(dir, "store")}`,
        `--boot=${isos.hang}`,
        "--size=1",
        `--machine=${join(dir, "machine.json")}`,
        "--timeout=90",
      ],
      { encoding: "utf8" },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/did not power the guest off within 90 s; nothing was saved/);
    // The console's last lines come with the error (how far the boot got depends on the load).
    expect(r.stderr).toMatch(/--- serial console \(last lines\) ---\n.*\S/);
    expect(await readdir(baseDir)).toEqual(before);
    expect(qemuRunning()).toBe(false);
  });

  it("moves through a taskcluster archive and boots with run, on the same machine", async () => {
    const archive = join(dir, "tc.tar.lz4");
    await exportTaskclusterImage({ baseImageDir: baseDir, name: "strata-tc-os", outPath: archive });
    await importTaskclusterImage({ archive, baseImageDir: baseDir, name: "strata-tc-imported" });
    let console = "";
    let started: { sshPort: number; vncPort: number | undefined } | undefined;
    const result = await runImage({
      baseImageDir: baseDir,
      name: "strata-tc-imported",
      vnc: true,
      onStarted: (info) => {
        started = info;
      },
      onConsole: (chunk) => {
        console += chunk.toString("latin1");
      },
    });
    expect(result.saved).toBeUndefined();
    expect(started?.vncPort).toBeGreaterThanOrEqual(5900);
    // Booted from the installed disk (not a CD), with the UUID of the machine it was made on.
    expect(console).toContain(`strata-test-os: mode=run uuid=${MACHINE.uuid}`);
    expect(console).toContain("strata-test-os: booted from the installed disk");
    expect((await readdir(baseDir)).filter((f) => f.startsWith("."))).toEqual([]);
    expect(qemuRunning()).toBe(false);
  });
});
