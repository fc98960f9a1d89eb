#!/usr/bin/env bash
# Installs everything a bare Debian 12 machine lacks for strata, then the workspace's
# dependencies, then builds it. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
# turbo would otherwise try to send usage telemetry: nothing here talks to the network.
export TURBO_TELEMETRY_DISABLED=1
bash scripts/check-node.sh

APT_PACKAGES=(qemu-system-x86 qemu-utils xorriso genisoimage mmdebstrap fakeroot uidmap e2fsprogs zstd openssh-client ovmf docker-registry openssl redis-server)
# taskcluster image archives (.tar.lz4); the install test's tiny installer ISO (isolinux, busybox).
APT_PACKAGES+=(lz4 isolinux syslinux-common busybox-static cpio)
# Windows secrets travel on a small FAT disk built on the host.
APT_PACKAGES+=(dosfstools mtools)
# (network host): the VM's own network namespace (ip) and pasta to connect it outward.
APT_PACKAGES+=(passt iproute2)
# arm64 guests: qemu-system-aarch64, and qemu-user through binfmt_misc to build their image.
APT_PACKAGES+=(qemu-system-arm qemu-user-static binfmt-support)
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  # redis-server and docker-registry would start with their packaged configs, which listen on
  # all interfaces; tests start their own on 127.0.0.1. policy-rc.d keeps invoke-rc.d from
  # starting any service during this install.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The arm64 image's packages run their scripts through qemu-user: the kernel must hand arm64
# programs to it. In a container binfmt_misc is often not mounted (and a mount may be refused).
BINFMT=/proc/sys/fs/binfmt_misc
if [ ! -e "$BINFMT/status" ]; then
  $SUDO mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null ||
    echo "setup: cannot mount binfmt_misc on $BINFMT (a container without the right?): the arm64 image cannot be built here; everything else works"
fi
if [ -e "$BINFMT/status" ] && ! grep -qx enabled "$BINFMT/qemu-aarch64" 2>/dev/null; then
  echo "setup: enabling qemu-user for arm64 programs (update-binfmts --enable qemu-aarch64)"
  $SUDO update-binfmts --enable qemu-aarch64 ||
    echo "setup: update-binfmts could not enable qemu-aarch64: the arm64 image cannot be built here; everything else works"
fi

PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install -g "pnpm@$PNPM_VERSION" >/dev/null
fi

# A native module built from source needs Node's headers: those already on disk when node-gyp
# would otherwise download them (scripts/node-headers.sh says when).
nodedir=$(bash scripts/node-headers.sh)
if [ -n "$nodedir" ]; then
  echo "setup: node-gyp takes Node's headers from $nodedir/include/node"
  export npm_config_nodedir=$nodedir
fi
pnpm install --frozen-lockfile --reporter=append-only | tail -n 3
pnpm build --output-logs=errors-only
bash scripts/link-bins.sh
