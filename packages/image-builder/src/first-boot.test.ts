import { defaultManifest, type ImageManifest } from "@strata/qemu-runner";
import { describe, expect, it } from "vitest";
import { cloudConfig, cloudMetaData, noCloudUrlCmdline, parsePhoneHome } from "./cloud-init.js";
import { firstBootManifest } from "./first-boot.js";
import { METADATA_URL } from "./metadata-service.js";

const kernel: ImageManifest = {
  ...defaultManifest("debian"),
  boot: { mode: "kernel", kernel: "/k", initrd: "/i", cmdline: "root=/dev/vda quiet" },
};

describe("firstBootManifest", () => {
  it("turns cloud-init on and keeps the image's network unless the seed brings one", () => {
    const iso = firstBootManifest(kernel, "iso", { userData: "", metaData: "" });
    expect(iso.boot).toMatchObject({
      cmdline: "root=/dev/vda quiet cloud-init=enabled network-config=disabled",
    });
    const withNet = firstBootManifest(kernel, "iso", {
      userData: "",
      metaData: "",
      networkConfig: "version: 2",
    });
    expect(withNet.boot).toMatchObject({ cmdline: "root=/dev/vda quiet cloud-init=enabled" });
  });

  it("points NoCloud at the metadata service", () => {
    const m = firstBootManifest(kernel, "metadata");
    expect(m.boot).toMatchObject({
      cmdline: expect.stringContaining(`ds=nocloud-net;s=${METADATA_URL}`),
    });
    expect(kernel.boot).toMatchObject({ cmdline: "root=/dev/vda quiet" });
  });

  it("leaves disk-boot manifests alone (they get the seed URL through SMBIOS)", () => {
    const disk = defaultManifest("ubuntu");
    expect(firstBootManifest(disk, "metadata")).toBe(disk);
  });
});

describe("cloud-config", () => {
  it("is #cloud-config with JSON (valid YAML) that values cannot break", () => {
    const text = cloudConfig({
      users: [{ name: "alice", publicKeys: ["ssh-ed25519 AAAA alice"] }],
      files: [{ path: "/etc/x", content: "a: b\n- c\n'\"" }],
      packages: ["curl"],
      runcmd: ["echo hi"],
      phoneHomeUrl: "http://10.0.2.254/phone-home/$INSTANCE_ID",
    });
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = JSON.parse(text.slice("#cloud-config\n".length));
    expect(doc.users[0]).toMatchObject({
      name: "alice",
      sudo: "ALL=(ALL) NOPASSWD:ALL",
      ssh_authorized_keys: ["ssh-ed25519 AAAA alice"],
    });
    expect(doc.write_files[0]).toMatchObject({
      path: "/etc/x",
      content: "a: b\n- c\n'\"",
      permissions: "0644",
    });
    expect(doc).toMatchObject({
      package_update: true,
      packages: ["curl"],
      runcmd: [["sh", "-c", "echo hi"]],
    });
    expect(doc.phone_home).toMatchObject({ url: "http://10.0.2.254/phone-home/$INSTANCE_ID" });
    expect(doc.power_state).toMatchObject({ mode: "poweroff" });
    expect(JSON.parse(text.slice(14)).power_state).toBeDefined();
    expect(cloudConfig({ powerOff: false })).toBe("#cloud-config\n{}\n");
  });

  it("meta-data, the seed URL and phone_home's form body", () => {
    expect(JSON.parse(cloudMetaData("i-1", "h"))).toEqual({
      "instance-id": "i-1",
      "local-hostname": "h",
    });
    expect(noCloudUrlCmdline("http://x/seed")).toBe("ds=nocloud-net;s=http://x/seed/");
    expect(parsePhoneHome("instance_id=i-1&hostname=strata")).toEqual({
      instance_id: "i-1",
      hostname: "strata",
    });
  });
});
