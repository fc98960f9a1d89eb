// `strata push` and `strata pull` between two real stores through a real docker-registry.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { openStore } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../main.js";

const ids = ["p0", "p1"].map((l) => createHash("sha256").update(l).digest("hex"));

describe("strata push / pull", () => {
  let registry: TestRegistry;
  let dir: string;
  const makeStore = (name: string) => {
    const root = join(dir, name);
    mkdirSync(join(root, "base-image"), { recursive: true });
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      join(root, "base-image", "b.qcow2"),
      "64M",
    ]);
    return root;
  };
  const run = async (root: string, ...argv: string[]) => {
    const captured = captureIo(root);
    const code = await main([...argv, `--store=qemu:${root}`], captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = mkdtempSync(join(tmpdir(), "strata-cli-registry-"));
    await using store = await openStore({ root: makeStore("a") });
    await store.build(ids[0]!, { base: "b", description: "first" }, async () => {});
    await store.build(ids[1]!, { parent: ids[0]!, description: "second" }, async (layer) => {
      execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 3 0 4M", layer.image]);
    });
  }, 120_000);
  afterAll(async () => {
    await registry?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("pushes a chain with progress lines, skips it the second time, pulls it elsewhere", async () => {
    const ref = `${registry.registry}/cli`;
    const push = await run(join(dir, "a"), "push", ids[1]!, ref);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toBe(`pushed ${ids[0]}\npushed ${ids[1]}\n`);
    // Not a terminal: one plain line per 10 % step, ending at 100 %.
    expect(push.stderr).toMatch(/^push +0% /m);
    expect(push.stderr).toMatch(/^push 100% .* done$/m);
    expect(push.stderr).not.toContain("\r");
    const again = await run(join(dir, "a"), "push", ids[1]!, ref);
    expect(again.stderr).toBe(`${ref} has ${ids[1]} already\n`);
    const b = makeStore("b");
    const pull = await run(b, "pull", ref, ids[1]!);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toBe(`pulled ${ids[0]}\npulled ${ids[1]}\n`);
    expect((await run(b, "ls")).stdout).toContain(ids[1]!);
  });

  it("maps registry errors to exit codes and rejects bad references", async () => {
    expect((await run(join(dir, "a"), "push", ids[1]!, "no-host")).code).toBe(2);
    expect((await run(join(dir, "a"), "push", ids[1]!, `${registry.registry}/cli:tag`)).code).toBe(
      2,
    );
    const missing = await run(
      join(dir, "a"),
      "pull",
      `${registry.registry}/cli`,
      createHash("sha256").update("x").digest("hex"),
    );
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("is not in the registry");
    expect((await run(join(dir, "a"), "build", "--registry-mode", "pull", ".")).code).toBe(2);
  });
});
