import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parentDeathPrefix, withParentDeath } from "./parent-death.js";

const CHILD = fileURLToPath(new URL("./parent-death-child.mjs", import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Starts a node process that spawns `sleep 300` behind `prefix`; returns both pids. */
async function spawnOwner(prefix: readonly string[]) {
  const owner = spawn(process.execPath, [CHILD, JSON.stringify(prefix)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const grandchild = await new Promise<number>((resolve, reject) => {
    let out = "";
    owner.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
    owner.on("exit", () => reject(new Error(`owner ended early: ${out}`)));
  });
  const exited = new Promise((resolve) => owner.on("exit", resolve));
  return { owner, grandchild, exited };
}

async function waitUntilGone(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

describe.runIf(process.platform === "linux")("withParentDeath", () => {
  it("uses setpriv --pdeathsig on Linux", () => {
    expect(parentDeathPrefix()).toEqual(["setpriv", "--pdeathsig", "KILL", "--"]);
    expect(withParentDeath(["qemu-system-x86_64", "-m", "512"])).toEqual([
      "setpriv",
      ["--pdeathsig", "KILL", "--", "qemu-system-x86_64", "-m", "512"],
    ]);
  });

  it("a child dies within seconds of its owner's SIGKILL, and outlives it without the prefix", async () => {
    const guarded = await spawnOwner(parentDeathPrefix());
    const bare = await spawnOwner([]);
    try {
      // setpriv execs the command in place: the pid the owner saw is the command's.
      expect(alive(guarded.grandchild)).toBe(true);
      guarded.owner.kill("SIGKILL");
      bare.owner.kill("SIGKILL");
      await Promise.all([guarded.exited, bare.exited]);
      expect(await waitUntilGone(guarded.grandchild, 5_000)).toBe(true);
      // The control: without the prefix the same child is still running.
      expect(alive(bare.grandchild)).toBe(true);
    } finally {
      for (const pid of [guarded.grandchild, bare.grandchild]) {
        if (alive(pid)) process.kill(pid, "SIGKILL");
      }
    }
  });
});
