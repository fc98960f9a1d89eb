import { describe, expect, it } from "vitest";
import { buildQemuArgv, type QemuArgvConfig } from "./argv.js";
import { parseMachineDefinition } from "./machine.js";
import { assertSshAccess, parseImageManifest } from "./manifest.js";

// taskcluster-worker's own default machine (engines/qemu/vm/machine.go), field for field.
const TASKCLUSTER_DEFAULT = {
  version: 1,
  uuid: "52bab607-10f1-4049-a0f8-ee4725cb715b",
  chipset: "pc-i440fx-2.8",
  cpu: "host",
  flags: [],
  usb: "nec-usb-xhci",
  network: "e1000",
  mac: "aa:54:1a:30:5c:de",
  storage: "virtio-blk-pci",
  graphics: "qxl-vga",
  vgaMemory: 16,
  graphicsRam: 64,
  graphicsVRam: 32,
  sound: "none",
  keyboard: "usb-kbd",
  keyboardLayout: "en-us",
  mouse: "usb-mouse",
  tablet: "usb-tablet",
};

function argvFor(hardware: QemuArgvConfig["hardware"], extra: Partial<QemuArgvConfig> = {}) {
  return buildQemuArgv({
    arch: "x86_64",
    accel: "tcg",
    memoryMiB: 512,
    cpus: 4,
    disk: { path: "/d.qcow2", interface: "virtio" },
    drives: [],
    cdroms: [],
    bootFromCdrom: false,
    boot: { mode: "disk" },
    firmware: "bios",
    hostSshPort: 2222,
    guestSshPort: 22,
    network: "restricted",
    serialLogPath: "/run/console.log",
    qmpSocketPath: "/run/qmp.sock",
    pidFilePath: "/run/qemu.pid",
    name: "m",
    extraArgs: [],
    hardware,
    ...extra,
  });
}

const after = (argv: string[], flag: string) => argv.filter((_, i) => argv[i - 1] === flag);

describe("parseMachineDefinition", () => {
  it("reads taskcluster's version 1 machine.json unchanged", () => {
    const r = parseMachineDefinition(JSON.stringify(TASKCLUSTER_DEFAULT));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.machine).toMatchObject({
      uuid: TASKCLUSTER_DEFAULT.uuid,
      chipset: "pc-i440fx-2.8",
      network: "e1000",
      mac: "aa:54:1a:30:5c:de",
      keyboardLayout: "en-us",
    });
  });

  it("reads the nested form of taskcluster's test-image README", () => {
    const r = parseMachineDefinition({
      uuid: "52bab607-10f1-4049-a0f8-ee4725cb715b",
      network: { device: "e1000", mac: "aa:54:1a:30:5c:de" },
      keyboard: { layout: "en-us" },
    });
    expect(r).toEqual({
      ok: true,
      machine: {
        version: 1,
        uuid: "52bab607-10f1-4049-a0f8-ee4725cb715b",
        network: "e1000",
        mac: "aa:54:1a:30:5c:de",
        keyboardLayout: "en-us",
      },
    });
  });

  it("lists every problem with its field", () => {
    const r = parseMachineDefinition({
      version: 2,
      mac: "01:00:5e:00:00:01",
      network: "ne2k_isa",
      memory: 64,
      threads: 0,
      flags: ["+avx2", "bad flag"],
      colour: "blue",
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const fields = r.problems.map((p) => p.path).sort();
    expect(fields).toEqual(["colour", "flags", "mac", "memory", "network", "threads", "version"]);
    expect(r.problems.find((p) => p.path === "mac")?.message).toMatch(/locally administered/);
    expect(r.problems.find((p) => p.path === "memory")?.message).toMatch(/from 128/);
    expect(r.problems.find((p) => p.path === "network")?.message).toMatch(/e1000/);
  });

  it("refuses what is not an object", () => {
    expect(parseMachineDefinition("[1]").ok).toBe(false);
    expect(parseMachineDefinition("{").ok).toBe(false);
  });
});

describe("machine definitions on QEMU's command line", () => {
  it("maps taskcluster's machine to QEMU arguments", () => {
    const r = parseMachineDefinition({ ...TASKCLUSTER_DEFAULT, sound: "hda-duplex/intel-hda" });
    if (!r.ok) throw new Error("invalid");
    const argv = argvFor(r.machine);
    expect(after(argv, "-machine")).toEqual(["pc-i440fx-2.8"]);
    expect(after(argv, "-uuid")).toEqual([TASKCLUSTER_DEFAULT.uuid]);
    // host has no meaning under TCG: the emulated maximum takes its place.
    expect(after(argv, "-cpu")).toEqual(["max"]);
    expect(after(argv, "-k")).toEqual(["en-us"]);
    const devices = after(argv, "-device");
    expect(devices).toContain("e1000,netdev=net0,mac=aa:54:1a:30:5c:de");
    expect(devices).toContain("nec-usb-xhci,id=usb0");
    expect(devices).toContain("usb-kbd,bus=usb0.0");
    expect(devices).toContain("usb-tablet,bus=usb0.0");
    expect(devices).toContain("intel-hda,id=hda0");
    expect(devices).toContain("hda-duplex,audiodev=snd0");
    expect(devices).toContain("qxl-vga,vgamem_mb=16");
    expect(after(argv, "-audiodev")).toEqual(["none,id=snd0"]);
  });

  it("keeps host with KVM, adds flags, and gives the topology when it matches", () => {
    const argv = argvFor(
      { version: 1, cpu: "host", flags: ["avx2", "-x2apic"], sockets: 1, cores: 2, threads: 2 },
      { accel: "kvm" },
    );
    expect(after(argv, "-cpu")).toEqual(["host,+avx2,-x2apic"]);
    expect(after(argv, "-smp")).toEqual(["4,sockets=1,cores=2,threads=2"]);
    // An explicit CPU count that differs (--qemu-cpus) wins over the topology.
    expect(after(argvFor({ version: 1, cores: 2 }), "-smp")).toEqual(["4"]);
  });

  it("adds one graphics card with VNC, the machine's", () => {
    const argv = argvFor({ version: 1, graphics: "virtio-vga" }, { vncDisplay: 3 });
    expect(after(argv, "-device").filter((d) => /vga|VGA/.test(d))).toEqual(["virtio-vga"]);
    expect(after(argv, "-vnc")).toEqual(["127.0.0.1:3"]);
  });

  it("changes nothing without a definition", () => {
    const argv = argvFor(undefined);
    expect(after(argv, "-machine")).toEqual(["q35"]);
    expect(argv).not.toContain("-uuid");
    expect(after(argv, "-device")).toContain("virtio-net-pci,netdev=net0");
  });
});

describe("manifests with a machine", () => {
  it("records the machine, takes memory and CPUs from it, and may have no SSH", () => {
    const r = parseImageManifest(
      {
        name: "tiny",
        ssh: false,
        machine: { uuid: TASKCLUSTER_DEFAULT.uuid, memory: 256, cores: 2, network: "e1000" },
      },
      { dir: "/images" },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.manifest.memoryMiB).toBe(256);
    expect(r.manifest.cpus).toBe(2);
    expect(r.manifest.machine?.network).toBe("e1000");
    expect(() => assertSshAccess(r.manifest)).toThrow(/--ssh-user USER/);
  });

  it("places machine problems under machine.", () => {
    const r = parseImageManifest({ name: "x", machine: { mac: "nope" } }, { dir: "/" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.path)).toEqual(["machine.mac"]);
  });
});
