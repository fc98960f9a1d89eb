#!/usr/bin/env bash
# Puts `strata` and `strata-image` on PATH for the current user without root: symlinks in
# ~/.local/bin (or $STRATA_BIN_DIR) to the built apps. Says how to extend PATH when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${STRATA_BIN_DIR:-$HOME/.local/bin}
mkdir -p "$dir"
ln -sfn "$PWD/apps/cli/bin/strata.js" "$dir/strata"
ln -sfn "$PWD/apps/image-builder/bin/strata-image.js" "$dir/strata-image"
echo "setup: linked strata and strata-image into $dir"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "setup: $dir is not on PATH; add it with: export PATH=\"$dir:\$PATH\"" ;;
esac
