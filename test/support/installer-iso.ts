// A tiny "installer" made here, since no installer ISO can be downloaded: the Debian test
// image's kernel and a busybox initramfs on an isolinux ISO. Its /init writes a small bootable
// disk (itself an isohybrid image of the same kernel with a "run" initramfs) to /dev/vda, then a
// marker with the machine's DMI UUID, and powers off, like an unattended installer would.
import { execFileSync } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where the marker sits on the installed disk (after the bootable image written first). */
export const MARKER_OFFSET_MIB = 64;
export const MARKER_PREFIX = "strata-install-marker";

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# Load the virtio modules in any order: retry until a round loads nothing new.
for round in 1 2 3 4; do for m in /lib/modules/*.ko; do insmod "$m" 2>/dev/null; done; done
for i in $(seq 100); do [ -b /dev/vda ] && break; sleep 0.1; done
uuid=$(cat /sys/class/dmi/id/product_uuid)
mode=$(sed -n 's/.*strata.mode=\\([a-z]*\\).*/\\1/p' /proc/cmdline)
echo "strata-test-os: mode=$mode uuid=$uuid"
case "$mode" in
  install)
    dd if=/payload.img of=/dev/vda bs=1M conv=fsync 2>/dev/null
    printf '${MARKER_PREFIX} uuid=%s\\n' "$uuid" | dd of=/dev/vda bs=1M seek=${MARKER_OFFSET_MIB} conv=fsync 2>/dev/null
    echo "strata-test-os: installed";;
  hang)
    echo "strata-test-os: this installer never finishes"
    while :; do sleep 60; done;;
  *)
    echo "strata-test-os: booted from the installed disk";;
esac
sync
poweroff -f
`;

function run(cmd: string, args: string[], cwd?: string): void {
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** An initramfs (newc cpio, uncompressed) with busybox, /init and the image's virtio modules. */
async function writeInitramfs(
  work: string,
  modulesFrom: string,
  out: string,
  payload?: string,
): Promise<void> {
  const root = await mkdtemp(join(work, "initramfs-"));
  for (const d of ["bin", "proc", "sys", "dev", "lib/modules"])
    await mkdir(join(root, d), { recursive: true });
  await copyFile("/usr/bin/busybox", join(root, "bin/busybox"));
  await chmod(join(root, "bin/busybox"), 0o755);
  await writeFile(join(root, "init"), INIT, { mode: 0o755 });
  for (const ko of await readdir(modulesFrom))
    await copyFile(join(modulesFrom, ko), join(root, "lib/modules", ko));
  if (payload) await copyFile(payload, join(root, "payload.img"));
  execFileSync("sh", ["-c", `find . | cpio -o -H newc --quiet > '${out}'`], { cwd: root });
  await rm(root, { recursive: true, force: true });
}

/** An isolinux ISO (isohybrid: bootable as a CD and as a hard disk) booting kernel + initrd. */
async function writeBootIso(
  work: string,
  kernel: string,
  initrd: string,
  mode: string,
  out: string,
): Promise<void> {
  const dir = await mkdtemp(join(work, "iso-"));
  await mkdir(join(dir, "isolinux"));
  await copyFile("/usr/lib/ISOLINUX/isolinux.bin", join(dir, "isolinux/isolinux.bin"));
  await copyFile("/usr/lib/syslinux/modules/bios/ldlinux.c32", join(dir, "isolinux/ldlinux.c32"));
  await copyFile(kernel, join(dir, "vmlinuz"));
  await copyFile(initrd, join(dir, "initrd.img"));
  await writeFile(
    join(dir, "isolinux/isolinux.cfg"),
    `SERIAL 0 115200\nDEFAULT strata\nPROMPT 0\nTIMEOUT 0\nLABEL strata\n  KERNEL /vmlinuz\n  INITRD /initrd.img\n  APPEND console=ttyS0 panic=-1 strata.mode=${mode}\n`,
  );
  run("xorriso", [
    ...["-as", "mkisofs", "-quiet", "-R", "-V", "STRATA-TEST-OS"],
    ...["-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin"],
    ...["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat"],
    ...["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table"],
    ...["-o", out, dir],
  ]);
  await rm(dir, { recursive: true, force: true });
}

export interface InstallerIsos extends AsyncDisposable {
  /** Installs the test OS and powers off. */
  install: string;
  /** Boots and never powers off. */
  hang: string;
}

/**
 * Makes the two installer ISOs from the test image's kernel (`<dir>/<name>.vmlinuz`) and the
 * virtio modules inside its initrd (`<dir>/<name>.initrd`, a zstd cpio).
 */
export async function makeInstallerIsos(kernel: string, initrd: string): Promise<InstallerIsos> {
  const work = await mkdtemp(join(tmpdir(), "strata-installer-"));
  const unpacked = join(work, "initrd");
  await mkdir(unpacked);
  execFileSync("sh", ["-c", `zstd -dc '${initrd}' | cpio -idm --quiet`], { cwd: unpacked });
  const modules = join(work, "modules");
  await mkdir(modules);
  const found = execFileSync("find", [unpacked, "-name", "*.ko*"])
    .toString()
    .split("\n")
    .filter(Boolean);
  for (const ko of found) {
    const base = ko.split("/").pop()!;
    // The disk and PCI transport only: virtio_scsi would need the SCSI core, which is not copied.
    if (!/^virtio/.test(base) || base.startsWith("virtio_scsi")) continue;
    if (base.endsWith(".ko.zst"))
      execFileSync("sh", [
        "-c",
        `zstd -dcq '${ko}' > '${join(modules, base.replace(/\.zst$/, ""))}'`,
      ]);
    else if (base.endsWith(".ko.xz"))
      execFileSync("sh", ["-c", `xz -dc '${ko}' > '${join(modules, base.replace(/\.xz$/, ""))}'`]);
    else await copyFile(ko, join(modules, base));
  }
  const runInitrd = join(work, "run.cpio");
  await writeInitramfs(work, modules, runInitrd);
  const payload = join(work, "payload.iso");
  await writeBootIso(work, kernel, runInitrd, "run", payload);
  const installInitrd = join(work, "install.cpio");
  await writeInitramfs(work, modules, installInitrd, payload);
  const install = join(work, "install.iso");
  await writeBootIso(work, kernel, installInitrd, "install", install);
  const hang = join(work, "hang.iso");
  await writeBootIso(work, kernel, runInitrd, "hang", hang);
  return { install, hang, [Symbol.asyncDispose]: () => rm(work, { recursive: true, force: true }) };
}
