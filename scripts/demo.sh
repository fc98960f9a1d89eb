#!/usr/bin/env bash
# The README's main command, after setup: builds the Debian base image into the store if it is
# missing (a few minutes, once), then builds examples/demo.spec in VMs, twice: the second run
# comes from the cache. STRATA_STORE picks the store (default: ~/.local/share/strata).
set -euo pipefail
cd "$(dirname "$0")/.."
STORE="${STRATA_STORE:-${XDG_DATA_HOME:-$HOME/.local/share}/strata}"
if [ ! -e "$STORE/base-image/debian-bookworm.qcow2" ]; then
  node apps/image-builder/bin/strata-image.js build debian-bookworm --store="qemu:$STORE"
fi
echo "== first build: every step runs in a VM"
node apps/cli/bin/strata.js build --store="qemu:$STORE" -v -f examples/demo.spec examples
echo "== second build: every step from the cache"
time node apps/cli/bin/strata.js build --store="qemu:$STORE" -f examples/demo.spec examples
