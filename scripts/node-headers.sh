#!/usr/bin/env bash
# Prints the directory node-gyp should take Node's C headers from (for npm_config_nodedir), or
# nothing when node-gyp finds them by itself. Native modules (better-sqlite3, ssh2's
# cpu-features) build with node-gyp when no prebuilt binary fits; node-gyp then downloads the
# headers into its cache, which fails on a machine without access to nodejs.org. Where Node came
# from a distribution package (NodeSource's nodejs puts them in /usr/include/node) or a tarball
# (PREFIX/include/node), the headers are already on disk: use them, but only
# - when the user has not chosen a nodedir (npm_config_nodedir) and node-gyp's cache has no
#   headers for this Node version, and
# - when their major version is the running Node's (the ABI of a native module follows it).
# STRATA_NODE_HEADER_DIRS (space-separated) replaces the places looked in, for tests.
set -euo pipefail
[ -n "${npm_config_nodedir:-}" ] && exit 0
version=$(node -p 'process.versions.node')
devdir=${npm_config_devdir:-${XDG_CACHE_HOME:-$HOME/.cache}/node-gyp}
[ -e "$devdir/$version/include/node/node.h" ] && exit 0
node_path=$(command -v node)
prefix=$(dirname "$(dirname "$(readlink -f "$node_path")")")
for dir in ${STRATA_NODE_HEADER_DIRS:-$prefix /usr}; do
  header=$dir/include/node/node_version.h
  [ -e "$dir/include/node/node.h" ] && [ -e "$header" ] || continue
  major=$(sed -n 's/^#define NODE_MAJOR_VERSION \([0-9]*\).*/\1/p' "$header")
  if [ "$major" = "${version%%.*}" ]; then
    echo "$dir"
    exit 0
  fi
done
