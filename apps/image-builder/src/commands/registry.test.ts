// `strata-image push` and `pull` between two real stores through a real docker-registry.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureIo } from "@strata/cli-kit";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../main.js";

describe("strata-image push / pull", () => {
  let registry: TestRegistry;
  let dir: string;
  const run = async (...argv: string[]) => {
    const captured = captureIo(dir);
    const code = await main(argv, captured.io);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  };

  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = mkdtempSync(join(tmpdir(), "strata-image-cli-registry-"));
    const images = join(dir, "a", "base-image");
    mkdirSync(images, { recursive: true });
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(images, "img.qcow2"), "64M"]);
    execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 5 0 1M", join(images, "img.qcow2")]);
    writeFileSync(join(images, "img.vmlinuz"), "kernel bytes");
    writeFileSync(join(images, "img.key"), "PRIVATE KEY", { mode: 0o600 });
    writeFileSync(
      join(images, "img.json"),
      JSON.stringify({
        name: "img",
        boot: { mode: "kernel", kernel: "img.vmlinuz", cmdline: "console=ttyS0" },
        ssh: { user: "u", privateKey: "img.key" },
      }),
    );
    writeFileSync(join(dir, "guest.key"), "MY KEY", { mode: 0o600 });
  }, 120_000);
  afterAll(async () => {
    await registry?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("pushes with progress, pulls into another store, says how to add the missing key", async () => {
    const ref = `${registry.registry}/images`;
    const push = await run("push", "img", ref, "--store=qemu:a");
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toMatch(new RegExp(`^${ref}:img@sha256:[0-9a-f]{64}\\n$`));
    expect(push.stderr).toMatch(/^push 100% .* done$/m);

    const bare = await run("pull", `${ref}:img`, "img", "--store=qemu:b");
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout).toBe(`img: ${join(dir, "b", "base-image", "img.qcow2")}\n`);
    expect(bare.stderr).toContain("came without an SSH key");
    expect(existsSync(join(dir, "b", "base-image", "img.key"))).toBe(false);

    const keyed = await run("pull", ref, "img", "--store=qemu:c", "--ssh-key", "guest.key");
    expect(keyed.code, keyed.stderr).toBe(0);
    expect(keyed.stderr).not.toContain("without an SSH key");
    expect(readFileSync(join(dir, "c", "base-image", "img.key"), "utf8")).toBe("MY KEY");
  });

  it("maps registry errors to exit codes", async () => {
    expect((await run("push", "img", "no-host", "--store=qemu:a")).code).toBe(2);
    const missing = await run("pull", `${registry.registry}/images:nope`, "x", "--store=qemu:d");
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain("not in the registry");
    expect(existsSync(join(dir, "d", "base-image", "x.qcow2"))).toBe(false);
  });
});
