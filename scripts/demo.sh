#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: installs the Debian packages, builds,
# makes a busybox bundle from Debian's busybox-static and runs a container in it with
# `berth-runtime run`; the container prints what it sees from the inside.
#   sudo scripts/demo.sh
# Environment:
#   BERTH_SKIP_DEPS=1 / BERTH_SKIP_BUILD=1   skip the install / build steps
#   BERTH_RUNTIME=PATH                       another runtime binary (default build/bin/berth-runtime)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
berth_require_root
cd "$BERTH_REPO"

if [[ "${BERTH_SKIP_DEPS:-}" != 1 ]]; then
    berth_log "Debian packages"
    bash scripts/install-deps.sh
fi
if [[ "${BERTH_SKIP_BUILD:-}" != 1 ]]; then
    berth_log "build"
    bash scripts/build.sh --target berth-runtime
fi

runtime=${BERTH_RUNTIME:-$BERTH_BUILD_DIR/bin/berth-runtime}
[[ -x "$runtime" ]] || berth_die "$runtime not found (build it, or set BERTH_RUNTIME)"

tmp=$(mktemp -d /tmp/berth-demo.XXXXXX)
bundle=$tmp/bundle
state=$tmp/state
id=demo-$$
cleanup() {
    "$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

berth_log "bundle: busybox rootfs from Debian's busybox-static in $bundle"
mkdir -p "$bundle"
sh tests/support/make-busybox-rootfs.sh "$bundle/rootfs"
# The runtime's own default config (`spec`, as runc has), then the demo's process and hostname.
if ! (cd "$bundle" && "$runtime" spec >/dev/null 2>&1) || ! jq -e .process "$bundle/config.json" >/dev/null 2>&1; then
    echo "($runtime spec gave no config.json: using runc spec)"
    rm -f "$bundle/config.json"
    (cd "$bundle" && runc spec)
fi
# Runs as the container's init: everything below is seen from the inside.
probe='
echo "hello from inside berth: hostname $(hostname), pid $$, uid $(id -u) ($(id -un))"
echo "  pid 1: $(cat /proc/1/comm); network interfaces: $(ls /sys/class/net | tr "\n" " ")"
echo "  root filesystem: $(ls / | wc -l) entries, read-only: $(touch /x 2>/dev/null && echo no || echo yes)"
echo "  mounts: $(wc -l </proc/mounts) ($(cut -d" " -f3 /proc/mounts | sort -u | tr "\n" " "))"
echo "  capabilities (effective): $(grep CapEff /proc/self/status | cut -f2)"
'
jq --arg probe "$probe" '
    .process.args = ["/bin/sh", "-c", $probe] | .process.terminal = false |
    .hostname = "berth-demo" | .root.readonly = true' \
    "$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

berth_log "$(basename "$runtime") --root $state run --bundle $bundle $id"
out=$("$runtime" --root "$state" run --bundle "$bundle" "$id" </dev/null) || {
    rc=$?
    printf '%s\n' "$out"
    berth_die "$(basename "$runtime") run exited $rc"
}
printf '%s\n' "$out"
grep -q '^hello from inside berth: hostname berth-demo, pid 1,' <<<"$out" ||
    berth_die "the container did not print its greeting (is $runtime a working runtime yet?)"
berth_log "demo: OK"
