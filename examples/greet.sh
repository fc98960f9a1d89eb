#!/bin/sh
# Filled in by the demo's first stage, then run in the second.
echo "$GREETING from @NAME@, running as $(id -un) on $(uname -sr)"
