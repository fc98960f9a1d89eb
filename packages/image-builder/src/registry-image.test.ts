// strata-image push/pull through a real docker-registry: the set travels whole, the private
// key never does, and the pulled image keeps the identity its first layers' IDs depend on.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryClient } from "@strata/registry";
import { startTestRegistry, type TestRegistry } from "@strata/registry/testing";
import { baseImageIdentity } from "@strata/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullBaseImage, pushBaseImage } from "./registry-image.js";

describe("base images through a registry", () => {
  let registry: TestRegistry;
  let dir: string;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startTestRegistry();
    dir = mkdtempSync(join(tmpdir(), "strata-image-registry-"));
    client = new RegistryClient({
      registry: registry.registry,
      credentials: async () => undefined,
    });
    const a = join(dir, "a");
    mkdirSync(a);
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(a, "img.qcow2"), "64M"]);
    execFileSync("qemu-io", ["-f", "qcow2", "-c", "write -P 9 0 2M", join(a, "img.qcow2")]);
    writeFileSync(join(a, "img.vmlinuz"), "kernel bytes");
    writeFileSync(join(a, "img.key"), "PRIVATE KEY", { mode: 0o600 });
    writeFileSync(
      join(a, "img.json"),
      JSON.stringify({
        name: "img",
        boot: { mode: "kernel", kernel: "img.vmlinuz", cmdline: "console=ttyS0" },
        ssh: { user: "u", privateKey: "img.key" },
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await registry?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("pushes disk, kernel and manifest without the key; pulls them whole under a new name", async () => {
    await pushBaseImage({
      client,
      repository: "images",
      baseImageDir: join(dir, "a"),
      name: "img",
    });
    const layers = (await client.getManifest("images", "img")).json as {
      config: { data?: string };
      layers: { annotations?: Record<string, string>; data?: string }[];
    };
    expect(layers.layers.map((l) => l.annotations?.["org.opencontainers.image.title"])).toEqual([
      "img.qcow2.000.zst",
      "img.vmlinuz.000.zst",
      "img.json",
    ]);
    // The record and the image's manifest travel inside the OCI manifest (`data`): no request.
    expect(JSON.parse(Buffer.from(layers.config.data!, "base64").toString())).toBeTypeOf("object");
    expect(layers.layers.map((l) => l.data !== undefined)).toEqual([false, false, true]);
    const c = join(dir, "c");
    const pulled = await pullBaseImage({
      client,
      repository: "images",
      tag: "img",
      baseImageDir: join(c, "base-image"),
      downloadDir: join(c, "download"),
      name: "copy",
    });
    expect(pulled.needsKey).toBe(true);
    expect(readdirSync(join(c, "base-image")).sort()).toEqual([
      "copy.identity.json",
      "copy.json",
      "copy.qcow2",
      "copy.vmlinuz",
    ]);
    const manifest = JSON.parse(readFileSync(join(c, "base-image", "copy.json"), "utf8"));
    expect(manifest).toMatchObject({
      name: "copy",
      boot: { kernel: "copy.vmlinuz" },
      ssh: { user: "u" },
    });
    expect(manifest.ssh.privateKey).toBeUndefined();
    expect(readFileSync(join(c, "base-image", "copy.vmlinuz"), "utf8")).toBe("kernel bytes");
    expect(baseImageIdentity(join(c, "base-image", "copy.qcow2"))).toBe(
      baseImageIdentity(join(dir, "a", "img.qcow2")),
    );
    const compare = execFileSync("qemu-img", [
      "compare",
      join(dir, "a", "img.qcow2"),
      join(c, "base-image", "copy.qcow2"),
    ]);
    expect(compare.toString()).toContain("identical");
  });

  it("installs the key given with the pull, and refuses to push an overlay", async () => {
    const d = join(dir, "d");
    writeFileSync(join(dir, "guest.key"), "THE KEY");
    const pulled = await pullBaseImage({
      client,
      repository: "images",
      tag: "img",
      baseImageDir: join(d, "base-image"),
      downloadDir: join(d, "download"),
      name: "img",
      sshKey: join(dir, "guest.key"),
    });
    expect(pulled.needsKey).toBe(false);
    expect(JSON.parse(readFileSync(join(d, "base-image", "img.json"), "utf8")).ssh.privateKey).toBe(
      "img.key",
    );
    expect(readFileSync(join(d, "base-image", "img.key"), "utf8")).toBe("THE KEY");
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "qcow2",
      "-b",
      "img.qcow2",
      join(d, "base-image", "over.qcow2"),
    ]);
    await expect(
      pushBaseImage({
        client,
        repository: "images",
        baseImageDir: join(d, "base-image"),
        name: "over",
      }),
    ).rejects.toThrow(/not a standalone/);
  });
});
