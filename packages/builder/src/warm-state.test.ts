import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  dropWarmState,
  findWarmState,
  type MachineIdentity,
  STATE_FILE,
  writeWarmMeta,
} from "./warm-state.js";

const identity: MachineIdentity = {
  qemu: "QEMU emulator version 7.2.22",
  arch: "x86_64",
  accel: "tcg",
  memoryMiB: 1024,
  cpus: 2,
  boot: "kernel 1:2 3:4 root=/dev/vda",
  firmware: "bios",
  disk: "virtio",
  hotplugPorts: 4,
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-warm-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("findWarmState", () => {
  it("finds a state saved by the same machine", async () => {
    await writeFile(join(dir, STATE_FILE), "x");
    await writeWarmMeta(dir, identity);
    expect(await findWarmState(dir, identity)).toEqual({ path: join(dir, STATE_FILE) });
  });

  it("says why a state cannot be used", async () => {
    expect(await findWarmState(dir, identity)).toEqual({ reason: { code: "no-state" } });
    await writeWarmMeta(dir, identity);
    expect(await findWarmState(dir, identity)).toEqual({ reason: { code: "state-missing" } });
    await writeFile(join(dir, STATE_FILE), "x");
    const other = { ...identity, memoryMiB: 2048, accel: "kvm" as const };
    expect(await findWarmState(dir, other)).toEqual({
      reason: {
        code: "other-machine",
        differs: [
          { key: "accel", saved: "tcg", now: "kvm" },
          { key: "memoryMiB", saved: 1024, now: 2048 },
        ],
      },
    });
    await writeFile(join(dir, "vmstate.json"), "{not json");
    expect(await findWarmState(dir, identity)).toEqual({ reason: { code: "state-meta-invalid" } });
    // A record whose field is not a plain value reports it as null, not as the object.
    await writeFile(join(dir, "vmstate.json"), JSON.stringify({ ...identity, cpus: { x: 1 } }));
    expect(await findWarmState(dir, identity)).toEqual({
      reason: {
        code: "other-machine",
        differs: [{ key: "cpus", saved: null, now: identity.cpus }],
      },
    });
  });

  it("drops a state and says whether there was one", async () => {
    await writeFile(join(dir, STATE_FILE), "x");
    await writeWarmMeta(dir, identity);
    await writeFile(join(dir, "log"), "kept");
    expect(await dropWarmState(dir)).toBe(true);
    expect(await readdir(dir)).toEqual(["log"]);
    expect(await dropWarmState(dir)).toBe(false);
  });

  it("drops what a killed build left of a state being written", async () => {
    await writeFile(join(dir, `${STATE_FILE}.raw`), "raw stream");
    await writeFile(join(dir, `${STATE_FILE}.part`), "half compressed");
    await writeFile(join(dir, "log"), "kept");
    expect(await dropWarmState(dir)).toBe(false);
    expect(await readdir(dir)).toEqual(["log"]);
  });
});
