import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chooseAccelerator, hostAccelKey, probeAccelerator, probeBiosImage } from "./accel.js";

describe("accelerator probe", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the probe guest reaches long mode under TCG (so a KVM failure means KVM)", async () => {
    expect(probeBiosImage().length).toBe(65536);
    const r = await probeAccelerator("tcg");
    expect(r).toMatchObject({ works: true });
    expect(r.elapsedMs).toBeLessThan(3000);
  });

  it("auto: decides within a few seconds, remembers the answer per host", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-accel-"));
    const warnings: string[] = [];
    const started = Date.now();
    const first = await chooseAccelerator("auto", {
      cacheDir: dir,
      onWarning: (m) => warnings.push(m),
    });
    expect(Date.now() - started).toBeLessThan(6000);
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
});
