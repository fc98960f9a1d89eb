import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defaultManifest, loadImageManifest, parseImageManifest } from "./manifest.js";

const sample = {
  name: "debian-bookworm",
  os: "linux",
  arch: "x86_64",
  boot: {
    mode: "kernel",
    kernel: "debian-bookworm.vmlinuz",
    initrd: "debian-bookworm.initrd",
    cmdline: "root=/dev/vda rw console=ttyS0",
  },
  firmware: "bios",
  disk: { interface: "virtio" },
  ssh: { user: "opam", port: 22, privateKey: "debian-bookworm.key" },
  shell: ["/bin/bash", "-c"],
  memoryMiB: 1024,
  cpus: 2,
};

describe("parseImageManifest", () => {
  it("resolves relative paths against dir", () => {
    const r = parseImageManifest(JSON.stringify(sample), { dir: "/store/base-image" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifest.boot).toEqual({
      mode: "kernel",
      kernel: "/store/base-image/debian-bookworm.vmlinuz",
      initrd: "/store/base-image/debian-bookworm.initrd",
      cmdline: "root=/dev/vda rw console=ttyS0",
    });
    expect(r.manifest.ssh.privateKey).toBe("/store/base-image/debian-bookworm.key");
    expect(r.manifest.memoryMiB).toBe(1024);
  });

  it("keeps a recorded SSH host key, refuses one that is not an OpenSSH key line", () => {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0vYq3vq7d1x2V0bZ1kq3Yx6cHn7m5aXlq8o0gA2Q0k";
    const ok = parseImageManifest({ name: "d", ssh: { hostKey: key } }, { dir: "/" });
    expect(ok.ok && ok.manifest.ssh.hostKey).toBe(key);
    const none = parseImageManifest({ name: "d" }, { dir: "/" });
    expect(none.ok && none.manifest.ssh.hostKey).toBeUndefined();
    const bad = parseImageManifest({ name: "d", ssh: { hostKey: "AAAA; rm -rf /" } }, { dir: "/" });
    expect(bad.ok ? [] : bad.problems.map((p) => p.path)).toEqual(["ssh.hostKey"]);
  });
  it("fills OBuilder's defaults", () => {
    const r = parseImageManifest({ name: "win", os: "windows" }, { dir: "/" });
    expect(r).toEqual({
      ok: true,
      manifest: { ...defaultManifest("win", "windows"), shell: ["cmd", "/S", "/C"] },
    });
  });

  it("lists every problem with its place", () => {
    const r = parseImageManifest(
      {
        name: "bad name",
        os: "plan9",
        boot: { mode: "kernel" },
        ssh: { port: 70000, user: "" },
        shell: "bash",
        memoryMiB: -1,
        recipe: { suite: "bookworm" },
      },
      { dir: "/" },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.path).sort()).toEqual(
      ["name", "os", "boot.kernel", "ssh.user", "ssh.port", "shell", "memoryMiB"].sort(),
    );
  });

  it("rejects kernel fields with disk boot and non-JSON text", () => {
    const r = parseImageManifest({ name: "x", boot: { mode: "disk", kernel: "k" } }, { dir: "/" });
    expect(r.ok ? [] : r.problems).toEqual([
      { path: "boot.kernel", message: 'only allowed with "mode": "kernel"' },
    ]);
    const j = parseImageManifest("{oops", { dir: "/" });
    expect(j.ok).toBe(false);
  });
});

describe("loadImageManifest", () => {
  let dir = "";
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads <name>.json beside the image, or falls back to defaults", async () => {
    dir = await mkdtemp(join(tmpdir(), "strata-manifest-"));
    expect(await loadImageManifest(join(dir, "plain.qcow2"))).toEqual(defaultManifest("plain"));
    await writeFile(join(dir, "debian-bookworm.json"), JSON.stringify(sample));
    const m = await loadImageManifest(join(dir, "debian-bookworm.qcow2"));
    expect(m.boot.mode === "kernel" && m.boot.kernel).toBe(join(dir, "debian-bookworm.vmlinuz"));
    await writeFile(join(dir, "broken.json"), JSON.stringify({ name: "broken", cpus: 0 }));
    await expect(loadImageManifest(join(dir, "broken.qcow2"))).rejects.toMatchObject({
      code: "QEMU_INVALID_MANIFEST",
    });
  });
});
