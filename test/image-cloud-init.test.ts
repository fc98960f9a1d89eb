import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cloudConfig, cloudMetaData, customiseImage, runFirstBoot } from "@strata/image-builder";
import { loadImageManifest } from "@strata/qemu-runner";
import { ensureKeyPair } from "@strata/ssh-transport";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Reads a file from an ext4 qcow2 without booting it (qemu-img to raw, then debugfs). */
function readFromImage(image: string, path: string, scratch: string): string {
  const raw = join(scratch, "inspect.raw");
  execFileSync("qemu-img", ["convert", "-O", "raw", image, raw]);
  try {
    return execFileSync("debugfs", ["-R", `cat ${path}`, raw], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } finally {
    execFileSync("rm", ["-f", raw]);
  }
}

// Three boots of the Debian image: 1 provisions from a NoCloud seed ISO (new user and key, a
// file, power-off); 2 from the metadata service at 169.254.169.254 (phone_home tells us it is
// done); 3 is `customise`, which logs in as the new user with the new key and runs a setup CD
// that checks what boots 1 and 2 left, then saves a new base image. Under TCG on a busy 2-core
// host each boot with cloud-init takes 3 to 10 minutes, hence the long limits.
describe("cloud-init first boots and customise on the Debian image", () => {
  let dir = "";
  let baseDir = "";
  let overlay = "";
  beforeAll(async () => {
    const imageDir = process.env.STRATA_TEST_IMAGE_DIR;
    if (!imageDir)
      throw new Error("STRATA_TEST_IMAGE_DIR is not set: run through vitest's e2e project");
    dir = await mkdtemp(join(tmpdir(), "strata-image-ci-"));
    baseDir = join(dir, "store", "base-image");
    await mkdir(baseDir, { recursive: true });
    overlay = join(baseDir, "provisioned.qcow2");
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "qcow2",
      "-b",
      join(imageDir, "debian-bookworm.qcow2"),
      overlay,
    ]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("provisions through an ISO seed, then the metadata service, then customises", async () => {
    const imageDir = process.env.STRATA_TEST_IMAGE_DIR!;
    const manifest = await loadImageManifest(join(imageDir, "debian-bookworm.qcow2"));
    const alice = await ensureKeyPair(join(dir, "alice"), { comment: "alice" });

    const iso = await runFirstBoot({
      image: overlay,
      manifest,
      via: "iso",
      timeoutMs: 1_500_000,
      seed: {
        metaData: cloudMetaData("strata-iso-1"),
        userData: cloudConfig({
          users: [{ name: "alice", publicKeys: [alice.publicKey] }],
          files: [{ path: "/etc/strata-iso-marker", content: "written from the ISO seed\n" }],
        }),
      },
    });
    expect(iso.poweredOff).toBe(true);

    const requests: string[] = [];
    const http = await runFirstBoot({
      image: overlay,
      manifest,
      via: "metadata",
      timeoutMs: 1_500_000,
      onProgress: (e) => {
        if (e.type === "output") requests.push(e.line);
      },
      seed: (phoneHomeUrl) => ({
        metaData: cloudMetaData("strata-http-2"),
        userData: cloudConfig({
          files: [
            { path: "/etc/strata-http-marker", content: "written from the metadata service\n" },
          ],
          runcmd: ["echo runcmd-ran > /var/tmp/strata-runcmd"],
          phoneHomeUrl,
        }),
      }),
    });
    expect(http.phoneHome?.instance_id).toBe("strata-http-2");
    expect(requests.join("\n")).toMatch(/GET \/user-data 200/);
    expect(requests.join("\n")).toMatch(/POST \/phone-home\/<token>\/strata-http-2 200/);

    // FROM for customise: the provisioned overlay, logged into as alice with alice's key.
    const json = JSON.parse(await readFile(join(imageDir, "debian-bookworm.json"), "utf8"));
    json.name = "provisioned";
    json.boot.kernel = manifest.boot.mode === "kernel" ? manifest.boot.kernel : "";
    json.boot.initrd = manifest.boot.mode === "kernel" ? manifest.boot.initrd : "";
    json.ssh = { ...json.ssh, user: "alice", privateKey: alice.privateKeyPath };
    await writeFile(join(baseDir, "provisioned.json"), JSON.stringify(json));
    const cd = join(dir, "cd");
    await mkdir(cd);
    await writeFile(
      join(cd, "setup.sh"),
      [
        "set -eu",
        'echo "user=$SUDO_USER"',
        "cat /etc/strata-iso-marker /etc/strata-http-marker /var/tmp/strata-runcmd",
        "grep -c alice /home/alice/.ssh/authorized_keys",
        "echo customised > /etc/strata-customised",
      ].join("\n"),
    );
    const lines: string[] = [];
    const done = await customiseImage({
      baseImageDir: baseDir,
      from: "provisioned",
      name: "custom",
      cdDir: cd,
      onProgress: (e) => {
        if (e.type === "output") lines.push(e.line);
      },
    });
    expect(done.output).toContain("user=alice");
    expect(done.output).toContain("written from the ISO seed");
    expect(done.output).toContain("written from the metadata service");
    expect(done.output).toContain("runcmd-ran");
    expect(lines).toContain("user=alice");

    const saved = JSON.parse(await readFile(done.manifestPath, "utf8"));
    expect(saved).toMatchObject({
      name: "custom",
      customisedFrom: "provisioned",
      boot: { kernel: "custom.vmlinuz", initrd: "custom.initrd" },
      ssh: { user: "alice", privateKey: "custom.key" },
    });
    expect((await stat(join(baseDir, "custom.key"))).mode & 0o777).toBe(0o600);
    const info = JSON.parse(
      execFileSync("qemu-img", ["info", "--output=json", done.image], { encoding: "utf8" }),
    );
    expect(info["backing-filename"]).toBeUndefined();
    expect(readFromImage(done.image, "/etc/strata-customised", dir)).toBe("customised\n");
    // pgrep exits 1 when nothing matches; it never matches itself.
    const left = (() => {
      try {
        return execFileSync("pgrep", ["-f", `qemu-system.*${dir}`], { encoding: "utf8" });
      } catch {
        return "";
      }
    })();
    expect(left.trim()).toBe("");
  }, 3_600_000);
});
