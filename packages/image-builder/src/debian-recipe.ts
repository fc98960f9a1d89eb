import { createHash } from "node:crypto";
import { quotePosix } from "@strata/shell-quote";

/** The architectures a Debian image is built for. */
export type DebianArch = "x86_64" | "aarch64";

/** What differs between architectures: Debian's name, the kernel package, the serial console. */
const DEBIAN_ARCHES = {
  x86_64: { debian: "amd64", kernel: "linux-image-amd64", console: "ttyS0" },
  // virt's serial port is a PL011 UART.
  aarch64: { debian: "arm64", kernel: "linux-image-arm64", console: "ttyAMA0" },
} as const satisfies Record<DebianArch, { debian: string; kernel: string; console: string }>;

/** Debian's name of an architecture (mmdebstrap `--arch`) and its kernel package. */
export function debianArch(arch: DebianArch): { debian: string; kernel: string } {
  return DEBIAN_ARCHES[arch];
}

/** What goes into a Debian base image. Everything here is part of the recipe key. */
export interface DebianRecipe {
  /** @default "debian-bookworm" */
  name: string;
  /** @default "bookworm" */
  suite: string;
  /** The guest's CPU (QEMU's name; Debian calls them amd64 and arm64). @default "x86_64" */
  arch: DebianArch;
  /** Packages on top of the `apt` variant's essential set. */
  packages: readonly string[];
  /** The build user, with passwordless sudo. @default "opam" */
  user: string;
  /** Virtual size of the root filesystem. @default 8 */
  sizeGiB: number;
}

/** Bumped whenever the way an image is made changes, so cached images are rebuilt. */
const DEBIAN_RECIPE_REVISION = 2;

/** The packages of every Debian image but the kernel (its package depends on the arch). */
const DEBIAN_PACKAGES: readonly string[] = [
  "initramfs-tools",
  "systemd-sysv",
  "udev",
  "dbus",
  "openssh-server",
  "sudo",
  "cloud-init",
  "qemu-guest-agent",
  "rsync",
  "tar",
  "ca-certificates",
  "iproute2",
  "e2fsprogs",
  "zstd",
];

export const DEFAULT_DEBIAN_RECIPE: DebianRecipe = {
  name: "debian-bookworm",
  suite: "bookworm",
  arch: "x86_64",
  packages: [DEBIAN_ARCHES.x86_64.kernel, ...DEBIAN_PACKAGES],
  user: "opam",
  sizeGiB: 8,
};

/** The same image for arm64 guests (`qemu-system-aarch64 -M virt`), built under qemu-user. */
export const ARM64_DEBIAN_RECIPE: DebianRecipe = {
  ...DEFAULT_DEBIAN_RECIPE,
  name: "debian-bookworm-arm64",
  arch: "aarch64",
  packages: [DEBIAN_ARCHES.aarch64.kernel, ...DEBIAN_PACKAGES],
};

/**
 * Kernel command line of an image. The root filesystem is the whole disk (no partition table,
 * no bootloader). cloud-init stays off unless a boot adds `cloud-init=enabled`.
 */
export function debianKernelCmdline(arch: DebianArch): string {
  return `root=/dev/vda rw console=${DEBIAN_ARCHES[arch].console} quiet`;
}

/** A stable key for a recipe: same recipe, same key, so a built image can be cached by it. */
export function debianRecipeKey(recipe: DebianRecipe): string {
  const canonical = JSON.stringify({
    revision: DEBIAN_RECIPE_REVISION,
    ...recipe,
    packages: [...recipe.packages].sort(),
    script: debianSetupScript(recipe.user, "<key>"),
  });
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

const SAFE_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Checks a recipe; returns every problem found, empty when it is fine. */
export function validateDebianRecipe(recipe: DebianRecipe): string[] {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(recipe.name))
    problems.push(`name: "${recipe.name}" must be letters, digits, ".", "_" or "-"`);
  if (!SAFE_USER.test(recipe.user))
    problems.push(`user: "${recipe.user}" is not a valid Linux user name`);
  if (!Object.hasOwn(DEBIAN_ARCHES, recipe.arch))
    problems.push(`arch: "${recipe.arch}" must be one of ${Object.keys(DEBIAN_ARCHES).join(", ")}`);
  if (!Number.isInteger(recipe.sizeGiB) || recipe.sizeGiB < 2 || recipe.sizeGiB > 2048)
    problems.push(`sizeGiB: ${recipe.sizeGiB} must be a whole number from 2 to 2048`);
  for (const p of recipe.packages)
    if (!/^[a-z0-9][a-z0-9+.-]+$/.test(p)) problems.push(`packages: "${p}" is not a package name`);
  return problems;
}

/**
 * The script that turns mmdebstrap's tree into a bootable guest. It runs on the host with the
 * root directory as $1 (an mmdebstrap customize hook).
 */
export function debianSetupScript(user: string, publicKey: string): string {
  return `#!/bin/sh
set -eu
R="$1"
chroot "$R" useradd -m -s /bin/bash -u 1000 -U ${user}
echo '${user} ALL=(ALL:ALL) NOPASSWD: ALL' > "$R/etc/sudoers.d/90-strata"
chmod 0440 "$R/etc/sudoers.d/90-strata"
install -d -m 0700 -o 1000 -g 1000 "$R/home/${user}/.ssh"
printf '%s\\n' ${quotePosix(publicKey)} > "$R/home/${user}/.ssh/authorized_keys"
chown 1000:1000 "$R/home/${user}/.ssh/authorized_keys"
chmod 0600 "$R/home/${user}/.ssh/authorized_keys"
echo strata > "$R/etc/hostname"
printf '127.0.0.1 localhost\\n127.0.1.1 strata\\n' > "$R/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$R/etc/fstab"
# QEMU's user-mode network answers DNS at 10.0.2.3; the host's resolv.conf means nothing inside.
echo 'nameserver 10.0.2.3' > "$R/etc/resolv.conf"
mkdir -p "$R/etc/systemd/network"
# QEMU's user-mode network always hands out 10.0.2.15; a static address skips DHCP at boot.
# Other networks (a cloud's) fall back to DHCP through the second file.
printf '[Match]\\nName=en* eth*\\nKernelCommandLine=!strata.dhcp\\n\\n[Network]\\nAddress=10.0.2.15/24\\nGateway=10.0.2.2\\nDNS=10.0.2.3\\nLinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' \\
  > "$R/etc/systemd/network/70-qemu-user.network"
printf '[Match]\\nName=en* eth*\\n\\n[Network]\\nDHCP=ipv4\\nLinkLocalAddressing=no\\nIPv6AcceptRA=no\\n' \\
  > "$R/etc/systemd/network/80-dhcp.network"
chroot "$R" systemctl enable systemd-networkd
# Nothing may wait for a network that a restricted guest never gets.
chroot "$R" systemctl mask systemd-networkd-wait-online.service e2scrub_reap.service
# sshd by socket activation: port 22 listens early in boot instead of after network.target.
chroot "$R" systemctl disable ssh.service
chroot "$R" systemctl enable ssh.socket
# A small initramfs (only what a QEMU guest needs to mount its root) unpacks much faster
# under TCG than the default "most" set.
printf 'MODULES=list\\nCOMPRESS=zstd\\n' > "$R/etc/initramfs-tools/conf.d/strata"
printf 'virtio_pci\\nvirtio_blk\\nvirtio_scsi\\nsd_mod\\next4\\ncrc32c_generic\\n' >> "$R/etc/initramfs-tools/modules"
chroot "$R" update-initramfs -u -k all
# cloud-init costs ~20 s a boot under TCG and regenerates host keys: off unless the kernel
# command line says cloud-init=enabled (first boots with a seed do).
touch "$R/etc/cloud/cloud-init.disabled"
printf 'datasource_list: [ NoCloud, None ]\\n' > "$R/etc/cloud/cloud.cfg.d/90-strata.cfg"
printf 'UseDNS no\\nPasswordAuthentication no\\n' > "$R/etc/ssh/sshd_config.d/90-strata.conf"
`;
}
