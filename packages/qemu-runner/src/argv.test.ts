import { describe, expect, it } from "vitest";
import { buildQemuArgv, escapeOptionValue } from "./argv.js";
import { ARGV_CONFIG } from "./test-support.js";

const base = ARGV_CONFIG;

/** The value following `flag`, for every occurrence. */
const values = (argv: string[], flag: string) =>
  argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));

describe("buildQemuArgv", () => {
  it("x86_64 under TCG: max CPU, multi-threaded TCG, restricted localhost forward", () => {
    const argv = buildQemuArgv(base);
    expect(argv[0]).toBe("qemu-system-x86_64");
    expect(values(argv, "-accel")).toEqual(["tcg,thread=multi"]);
    expect(values(argv, "-cpu")).toEqual(["max"]);
    expect(values(argv, "-machine")).toEqual(["q35"]);
    expect(values(argv, "-m")).toEqual(["1024"]);
    expect(values(argv, "-smp")).toEqual(["2"]);
    expect(values(argv, "-netdev")).toEqual([
      "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,restrict=on",
    ]);
    expect(values(argv, "-drive")).toEqual([
      "file=/s/a,,b.qcow2,format=qcow2,auto-read-only=off,file.drop-cache=off,if=none,id=disk0,discard=unmap",
    ]);
    expect(values(argv, "-device")).toContain("virtio-blk-pci,drive=disk0");
    expect(values(argv, "-pidfile")).toEqual(["/run/x/qemu.pid"]);
    expect(values(argv, "-mon")).toEqual(["chardev=qmp,mode=control"]);
    expect(values(argv, "-chardev")).toEqual([
      "file,id=serial0,path=/run/x/console.log",
      "socket,id=qmp,path=/run/x/qmp.sock",
    ]);
    expect(argv).toContain("-nographic");
    expect(argv).toContain("-nodefaults");
    expect(argv).not.toContain("-kernel");
    expect(argv).not.toContain("-bios");
  });

  it("KVM uses the host CPU and no TCG threading", () => {
    const argv = buildQemuArgv({ ...base, accel: "kvm" });
    expect(values(argv, "-accel")).toEqual(["kvm"]);
    expect(values(argv, "-cpu")).toEqual(["host"]);
  });

  it("kernel boot passes kernel, initrd and command line", () => {
    const argv = buildQemuArgv({
      ...base,
      boot: {
        mode: "kernel",
        kernel: "/i/vmlinuz",
        initrd: "/i/initrd",
        cmdline: "root=/dev/vda rw",
      },
    });
    expect(values(argv, "-kernel")).toEqual(["/i/vmlinuz"]);
    expect(values(argv, "-initrd")).toEqual(["/i/initrd"]);
    expect(values(argv, "-append")).toEqual(["root=/dev/vda rw no_timer_check"]);
  });

  it("skips the kernel's IO-APIC timer check under TCG on x86_64 only, and only once", () => {
    const boot = { mode: "kernel" as const, kernel: "/k", cmdline: "root=/dev/vda" };
    const append = (o: Partial<Parameters<typeof buildQemuArgv>[0]>) =>
      values(buildQemuArgv({ ...base, boot, ...o }), "-append")[0];
    expect(append({})).toBe("root=/dev/vda no_timer_check");
    expect(append({ accel: "kvm" })).toBe("root=/dev/vda");
    expect(append({ boot: { ...boot, cmdline: "no_timer_check quiet" } })).toBe(
      "no_timer_check quiet",
    );
  });

  it("UEFI on x86_64 loads OVMF, or the given firmware", () => {
    expect(values(buildQemuArgv({ ...base, firmware: "uefi" }), "-bios")).toEqual([
      "/usr/share/ovmf/OVMF.fd",
    ]);
    const custom = buildQemuArgv({ ...base, firmware: "uefi", firmwarePath: "/fw/OVMF.fd" });
    expect(values(custom, "-bios")).toEqual(["/fw/OVMF.fd"]);
  });

  it("host network drops restrict=on; VNC replaces -nographic", () => {
    const argv = buildQemuArgv({ ...base, network: "host", vncDisplay: 3 });
    expect(values(argv, "-netdev")[0]).not.toContain("restrict");
    expect(values(argv, "-vnc")).toEqual(["127.0.0.1:3"]);
    expect(argv).not.toContain("-nographic");
    expect(values(argv, "-device")).toContain("VGA");
  });

  it("extra drives, nvme and scsi interfaces, CD-ROMs, boot order", () => {
    const argv = buildQemuArgv({
      ...base,
      disk: { path: "/d.qcow2", interface: "nvme" },
      drives: [{ path: "/c.raw", format: "raw", interface: "scsi", readOnly: true }],
      cdroms: ["/seed.iso"],
      bootFromCdrom: true,
    });
    expect(values(argv, "-drive")).toEqual([
      "file=/d.qcow2,format=qcow2,auto-read-only=off,file.drop-cache=off,if=none,id=disk0",
      "file=/c.raw,format=raw,readonly=on,if=none,id=disk1",
      "file=/seed.iso,media=cdrom,readonly=on,if=ide",
    ]);
    const devices = values(argv, "-device");
    expect(devices).toContain("nvme,drive=disk0,serial=disk0");
    expect(devices).toContain("virtio-scsi-pci,id=scsi0");
    expect(devices).toContain("scsi-hd,drive=disk1,bus=scsi0.0");
    expect(values(argv, "-boot")).toEqual(["order=dc"]);
  });

  it("aarch64: virt machine, cheap pointer auth under TCG, UEFI firmware for disk boot, CDs on virtio-scsi", () => {
    const argv = buildQemuArgv({ ...base, arch: "aarch64", cdroms: ["/x.iso"] });
    expect(argv[0]).toBe("qemu-system-aarch64");
    expect(values(argv, "-machine")).toEqual(["virt,gic-version=max"]);
    expect(values(argv, "-cpu")).toEqual(["max,pauth-impdef=on"]);
    expect(values(argv, "-bios")).toEqual(["/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"]);
    expect(values(argv, "-device")).toContain("scsi-cd,drive=cd0,bus=scsi0.0");
    const kvm = buildQemuArgv({ ...base, arch: "aarch64", accel: "kvm" });
    expect(values(kvm, "-machine")).toEqual(["virt,gic-version=host"]);
    expect(values(kvm, "-cpu")).toEqual(["host"]);
    const kernel = buildQemuArgv({
      ...base,
      arch: "aarch64",
      boot: { mode: "kernel", kernel: "/k", cmdline: "console=ttyAMA0" },
    });
    expect(kernel).not.toContain("-bios");
  });

  it("riscv64: OpenSBI, U-Boot as the S-mode kernel for disk boot, default CPU under TCG", () => {
    const argv = buildQemuArgv({ ...base, arch: "riscv64" });
    expect(argv[0]).toBe("qemu-system-riscv64");
    expect(values(argv, "-machine")).toEqual(["virt"]);
    expect(values(argv, "-bios")).toEqual(["default"]);
    expect(values(argv, "-kernel")).toEqual(["/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"]);
    expect(argv).not.toContain("-cpu");
    const kernel = buildQemuArgv({
      ...base,
      arch: "riscv64",
      boot: { mode: "kernel", kernel: "/k", cmdline: "root=/dev/vda" },
    });
    expect(values(kernel, "-kernel")).toEqual(["/k"]);
  });

  it("machine override and extra args go through", () => {
    const argv = buildQemuArgv({ ...base, machine: "pc", extraArgs: ["-S"] });
    expect(values(argv, "-machine")).toEqual(["pc"]);
    expect(argv.at(-1)).toBe("-S");
  });

  it("guest forwards join the user netdev, before restrict=on, commas escaped", () => {
    const argv = buildQemuArgv({
      ...base,
      guestForwards: [{ address: "169.254.169.254", port: 80, to: "cmd:relay a,b" }],
    });
    expect(values(argv, "-netdev")).toEqual([
      "user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,guestfwd=tcp:169.254.169.254:80-cmd:relay a,,b,restrict=on",
    ]);
  });

  it("escapes commas in option values", () => {
    expect(escapeOptionValue("a,b,,c")).toBe("a,,b,,,,c");
  });
});

describe("page cache of a writable image's chain", () => {
  it("keeps it on every file node down to the depth given, and leaves read-only drives alone", () => {
    const argv = buildQemuArgv({
      ...base,
      disk: { ...base.disk, backingDepth: 2 },
      drives: [{ path: "/layer.qcow2", readOnly: true }],
    });
    const [root, layer] = values(argv, "-drive");
    expect(root).toContain(
      ",auto-read-only=off,file.drop-cache=off,backing.file.drop-cache=off,backing.backing.file.drop-cache=off,",
    );
    expect(root).not.toContain("backing.backing.backing.");
    expect(layer).not.toContain("drop-cache");
  });
});

describe("drive serials", () => {
  it("creates the root disk's device before any extra disk's, so the root is /dev/vda", () => {
    const argv = buildQemuArgv({ ...base, drives: [{ path: "/src.qcow2", serial: "strata-src" }] });
    const devices = values(argv, "-device").filter((d) => d?.startsWith("virtio-blk-pci"));
    expect(devices).toEqual([
      "virtio-blk-pci,drive=disk0",
      "virtio-blk-pci,drive=disk1,serial=strata-src",
    ]);
  });

  it("puts a virtio drive's serial on its device so the guest finds it by id", () => {
    const argv = buildQemuArgv({
      ...base,
      drives: [{ path: "/cache.qcow2", serial: "strata-c0" }],
    });
    const i = argv.indexOf("virtio-blk-pci,drive=disk1,serial=strata-c0");
    expect(i).toBeGreaterThan(0);
    expect(argv.slice(i - 3, i - 1)).toEqual(["-drive", expect.stringMatching(/if=none,id=disk1/)]);
    expect(argv[i - 1]).toBe("-device");
    expect(argv[i - 2]).toMatch(
      /^file=\/cache\.qcow2,format=qcow2,auto-read-only=off,file\.drop-cache=off,if=none,id=disk1/,
    );
  });
});
