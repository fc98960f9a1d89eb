#!/usr/bin/env bash
# `pnpm bench`: builds, then runs the benchmarks that need no VM (each prints its figures beside a
# baseline measured in the same run). `pnpm bench --vm` adds the ones that boot the Debian test
# image (minutes under TCG; run them on a quiet machine, through vm-slot where it is shared).
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm build
for bench in spec-parse store-chain build-cached; do
  echo "== bench/$bench.mjs"
  node "bench/$bench.mjs"
done
if [ "${1:-}" = "--vm" ]; then
  node test/support/base-image.mjs >/dev/null
  for bench in vm-boot vm-transfer step-overhead build-modes cache-strategies; do
    echo "== bench/$bench.mjs"
    node "bench/$bench.mjs"
  done
fi
