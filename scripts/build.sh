#!/usr/bin/env bash
# Configures (once) and builds Berth with the release preset: build/ with Ninja and ccache, tests
# included. Re-running only rebuilds what changed.
#   scripts/build.sh [cmake --build arguments, e.g. --target berth-runtime]
# Environment: BERTH_BUILD_DIR (default build/), BERTH_JOBS (default: number of CPUs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BERTH_REPO"

# ccache keys on absolute paths unless told the tree's base: with it, a fresh clone elsewhere
# (CI) hits the cache a previous clone filled.
export CCACHE_BASEDIR=$BERTH_REPO
export CCACHE_NOHASHDIR=1
# This build's own hit rate (ccache's global counters mix every tree and user of the cache).
export CCACHE_STATSLOG=$BERTH_BUILD_DIR/ccache-stats.log

jobs=${BERTH_JOBS:-$(nproc)}
args=()
[[ "$BERTH_BUILD_DIR" != "$BERTH_REPO/build" ]] && args=(-B "$BERTH_BUILD_DIR")

start=$(date +%s)
mkdir -p "$BERTH_BUILD_DIR"
: >"$CCACHE_STATSLOG"
cache=$BERTH_BUILD_DIR/CMakeCache.txt
if [[ ! -f "$BERTH_BUILD_DIR/build.ninja" ]] ||
   ! grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "$cache" ||
   ! grep -qx 'BERTH_BUILD_TESTS:BOOL=ON' "$cache"; then
    # First build, or a tree configured with another preset (dev shares build/).
    berth_log "configure (preset release) in $BERTH_BUILD_DIR"
    cmake --preset release "${args[@]}"
fi
# Later runs: ninja re-runs CMake by itself when a CMakeLists.txt changed.
berth_log "build with $jobs jobs"
cmake --build "$BERTH_BUILD_DIR" -j "$jobs" "$@"
echo "build: done in $(berth_elapsed "$start")"
if [[ -s "$CCACHE_STATSLOG" ]]; then
    ccache --show-log-stats 2>/dev/null | grep -E '^ *Hits:' | sed 's/^ */ccache /' || true
fi
