import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  chooseAccelerator,
  hostAccelKey,
  hostGuestArch,
  probeAccelerator,
  probeBiosImage,
} from "./accel.js";
import { QemuOptionsError, QemuStartError } from "./errors.js";

describe("accelerator probe (real QEMU: KVM where usable, else TCG)", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the probe guest reaches long mode under TCG (so a KVM failure means KVM)", async () => {
    expect(probeBiosImage().length).toBe(65536);
    const r = await probeAccelerator("tcg");
    // `works` means long mode within the probe's own timeout; elapsedMs also counts QEMU's exit,
    // which a loaded machine stretches, so it is not asserted here.
    expect(r).toMatchObject({ works: true });
  });

  it("auto: decides, remembers the answer per host", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-accel-"));
    const warnings: string[] = [];
    const first = await chooseAccelerator("auto", {
      cacheDir: dir,
      onWarning: (m) => warnings.push(m),
    });
    expect(first.cached).toBe(false);
    const cache = JSON.parse(await readFile(join(dir, "accel.json"), "utf8"));
    expect(cache[await hostAccelKey()].kvm).toBe(first.accel === "kvm");
    // On this kind of host (nested, /dev/kvm present but hanging) the answer must be TCG.
    if (existsSync("/dev/kvm") && process.env.STRATA_EXPECT_KVM !== "1") {
      expect(first.accel).toBe("tcg");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/TCG/);
    }
    const again = await chooseAccelerator("auto", { cacheDir: dir });
    expect(again).toMatchObject({ accel: first.accel, cached: true });
    expect(await chooseAccelerator("kvm", { cacheDir: dir })).toMatchObject({ accel: "kvm" });
  });

  it("a guest of another architecture runs under TCG without a probe; KVM for it is refused", async () => {
    expect(hostGuestArch("x64")).toBe("x86_64");
    expect(hostGuestArch("arm64")).toBe("aarch64");
    expect(hostGuestArch("ia32")).toBeUndefined();
    const foreign = hostGuestArch() === "aarch64" ? "x86_64" : "aarch64";
    dir = await mkdtemp(join(tmpdir(), "strata-accel-"));
    const choice = await chooseAccelerator("auto", { cacheDir: dir, arch: foreign });
    expect(choice).toEqual({ accel: "tcg", cached: false });
    // No probe ran: nothing was cached.
    expect(existsSync(join(dir, "accel.json"))).toBe(false);
    const kvm = chooseAccelerator("kvm", { cacheDir: dir, arch: foreign });
    await expect(kvm).rejects.toBeInstanceOf(QemuOptionsError);
    await expect(kvm).rejects.toThrow(`KVM runs only guests of the host's architecture`);
    expect(await chooseAccelerator("tcg", { arch: foreign })).toMatchObject({ accel: "tcg" });
  });

  it("auto: a cache directory it cannot write costs a warning, not the run", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-accel-"));
    // A regular file where the directory should be: mkdir fails even for root.
    const blocked = join(dir, "not-a-dir");
    await writeFile(blocked, "");
    const warnings: string[] = [];
    const r = await chooseAccelerator("auto", {
      cacheDir: join(blocked, "strata"),
      onWarning: (m) => warnings.push(m),
    });
    expect(["kvm", "tcg"]).toContain(r.accel);
    expect(warnings.some((w) => w.includes("could not remember the accelerator probe"))).toBe(true);
  });

  it("a QEMU binary that fails or is missing is a QemuStartError naming the command", async () => {
    await expect(hostAccelKey("false")).rejects.toBeInstanceOf(QemuStartError);
    await expect(hostAccelKey("strata-no-such-qemu")).rejects.toThrow(
      /strata-no-such-qemu --version/,
    );
  });
});
