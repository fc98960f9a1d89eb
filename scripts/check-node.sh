#!/usr/bin/env bash
# Fails with a clear message unless `node` is Node.js 20 or newer (Debian 12's own is 18).
set -euo pipefail
REQUIRED=20
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= $REQUIRED is needed and \`node\` is not on PATH; install it (e.g. from https://nodejs.org or NodeSource's Debian packages) and run setup again" >&2
  exit 1
fi
version=$(node -p 'process.versions.node')
major=${version%%.*}
if [ "$major" -lt "$REQUIRED" ]; then
  echo "setup: Node.js >= $REQUIRED is needed, found $version at $(command -v node) (Debian 12's own nodejs is 18); install a newer Node.js and run setup again" >&2
  exit 1
fi
