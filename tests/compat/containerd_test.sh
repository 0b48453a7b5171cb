#!/usr/bin/env bash
# Compat test: Debian's containerd (1.6) runs containers through berth-runtime, the way
# Kubernetes would, via the io.containerd.runc.v2 shim and `ctr run --runc-binary`.
#
#   containerd_test.sh [--runtime=PATH] [scenario ...]
#       scenarios: run exit-code detached ps pause-resume (default: all, in one containerd)
# Environment:
#   BERTH_TEST_RUNTIME   the runtime binary; overrides --runtime=PATH (which CTest passes:
#                        build/bin/berth-runtime, also the default). Use /usr/bin/runc to
#                        validate this test against the reference runtime.
#   BERTH_COMPAT_TRACE=1 log every runtime invocation the shim makes and print them at the end.
#   BERTH_COMPAT_KEEP=1  keep the temporary directory (containerd log) for a post-mortem.
#
# Everything is private: containerd gets its own root, state, sockets and namespace
# (berth-test-ctr-<pid>), so the containers' cgroups are /<namespace>/<id> in each hierarchy.
# Outside the temp dir land only what containerd 1.6 doesn't let us move: the shims' sockets
# (/run/containerd/s/<hash>), ctr's stdio fifos (/run/containerd/fifo/<n>/) and the runtime
# state the shim asks for (--root /run/containerd/runc/<namespace>); all removed on exit.
# Exit: 0 all passed, 1 a failure, 77 skipped (not root, or tools missing outside CI).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

default_runtime=$repo/build/bin/berth-runtime
scenarios=()
for arg in "$@"; do
    case "$arg" in
        --runtime=*) default_runtime=${arg#--runtime=} ;;
        *) scenarios+=("$arg") ;;
    esac
done
((${#scenarios[@]})) || scenarios=(run exit-code detached ps pause-resume)
runtime=${BERTH_TEST_RUNTIME:-$default_runtime}

log() { echo "containerd-compat: $*"; }

skip_or_fail() {  # A missing tool is a skip for a developer, a failure in CI.
    if [[ "${CI:-}" == true ]]; then
        log "FAIL: $*"
        exit 1
    fi
    log "SKIPPED: $*"
    exit 77
}

[[ $EUID -eq 0 ]] || { log "SKIPPED: needs root"; exit 77; }
for tool in containerd ctr containerd-shim-runc-v2 jq tar sha256sum timeout; do
    command -v "$tool" >/dev/null || skip_or_fail "$tool not installed (scripts/install-deps.sh)"
done
[[ -x /bin/busybox ]] || skip_or_fail "/bin/busybox missing (apt-get install busybox-static)"
if [[ ! -x "$runtime" ]]; then
    log "FAIL: runtime $runtime is not an executable (build berth-runtime or set BERTH_TEST_RUNTIME)"
    exit 1
fi
runtime=$(realpath "$runtime")   # the shim resolves the binary from its own working directory

tmp=$(mktemp -d /tmp/berth-test-ctr.XXXXXX)
ns=berth-test-ctr-$$
tag=bt$$   # in every task and exec id: ctr names its stdio fifos after them
sock=$tmp/containerd.sock
ctrd_pid=
image=docker.io/berth/busybox:latest
rt_state=/run/containerd/runc/$ns   # where the shim tells the runtime to keep its state (--root)

ctr_() { timeout 60 ctr -a "$sock" -n "$ns" "$@"; }

# Unmounts everything under a directory, deepest first (containerd leaves rootfs overlays and
# shm mounts behind when a shim dies).
unmount_under() {
    local dir=$1 mp
    awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r mp; do
            umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "warning: cannot unmount $mp"
        done
}

# Prints "<pid> <task id>" for the shims our containerd started (their command line names our
# socket: containerd-shim-runc-v2 -namespace <ns> -id <id> -address <sock>).
our_shims() {
    local p args
    for p in /proc/[0-9]*; do
        args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        [[ "$args" == *" -address $sock "* && "$args" =~ \ -id\ ([^ ]+) ]] &&
            echo "${p#/proc/} ${BASH_REMATCH[1]}"
    done
    return 0
}

cleanup() {
    local status=$?
    set +e
    if [[ -n "$ctrd_pid" ]] && kill -0 "$ctrd_pid" 2>/dev/null; then
        # Delete what is left through containerd first so the shims exit by themselves.
        local t
        for t in $(ctr_ task ls -q 2>/dev/null); do
            ctr_ task kill -s SIGKILL "$t" >/dev/null 2>&1
            timeout 15 ctr -a "$sock" -n "$ns" task delete -f "$t" >/dev/null 2>&1
        done
        for t in $(ctr_ container ls -q 2>/dev/null); do
            ctr_ container delete "$t" >/dev/null 2>&1
        done
        kill -TERM "$ctrd_pid"
        for _ in $(seq 50); do kill -0 "$ctrd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ctrd_pid" 2>/dev/null
        wait "$ctrd_pid" 2>/dev/null
    fi
    # Shims and container processes that outlived that (only ours: found by our socket and by
    # our namespace's cgroups).
    # A killed shim leaves its socket, /run/containerd/s/<sha256 of "<address>/<ns>/<id>">.
    local pid id f
    while read -r pid id; do
        kill -KILL "$pid" 2>/dev/null
        rm -f "/run/containerd/s/$(printf '%s' "$sock/$ns/$id" | sha256sum | cut -d' ' -f1)"
    done < <(our_shims)
    for f in /sys/fs/cgroup/*/"$ns"/*/cgroup.procs /sys/fs/cgroup/*/"$ns"/cgroup.procs; do
        [[ -f "$f" ]] || continue
        for pid in $(cat "$f"); do kill -KILL "$pid" 2>/dev/null; done
    done
    unmount_under "$tmp"
    local cg
    for cg in /sys/fs/cgroup/*/"$ns"; do
        [[ -d "$cg" ]] || continue
        for _ in $(seq 20); do
            find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
            [[ -d "$cg" ]] || break
            sleep 0.1
        done
        [[ -d "$cg" ]] && log "warning: cannot remove cgroup $cg"
    done
    rm -rf "$rt_state"
    # ctr's stdio fifos (/run/containerd/fifo/<random>/<id>-stdin...) that a failed run leaked.
    for f in /run/containerd/fifo/*/*-"$tag"-stdin; do
        [[ -p "$f" ]] && rm -rf "$(dirname "$f")"
    done
    if [[ "${BERTH_COMPAT_TRACE:-}" == 1 && -f "$tmp/calls.log" ]]; then
        log "runtime invocations made by the shim (state dir shown as <S>):"
        sed "s#$tmp/state/io.containerd.runtime.v2.task/$ns#<S>#g" "$tmp/calls.log"
    fi
    if ((status != 0)) && [[ -f "$tmp/containerd.log" ]]; then
        log "last lines of containerd's log:"
        grep -vE 'level=info msg="(loading|skip loading) plugin' "$tmp/containerd.log" | tail -25
    fi
    if [[ "${BERTH_COMPAT_KEEP:-}" == 1 ]]; then
        log "kept $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

runc_binary=$runtime
if [[ "${BERTH_COMPAT_TRACE:-}" == 1 ]]; then
    runc_binary=$tmp/runtime-trace
    printf '#!/bin/sh\necho "$*" >>%q\nexec %q "$@"\n' "$tmp/calls.log" "$runtime" >"$runc_binary"
    chmod +x "$runc_binary"
fi

# --- containerd, private ------------------------------------------------------------------
# Plugins we don't need are disabled: CRI (slow start, wants CNI), the snapshotters that only
# probe, and "opt" (which would create /opt/containerd on the host). The v1 runtime stays: the
# 1.6 tasks service refuses to load without it.
cat >"$tmp/config.toml" <<EOF
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.restart",
]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
EOF

containerd --config "$tmp/config.toml" </dev/null >"$tmp/containerd.log" 2>&1 &
ctrd_pid=$!
for _ in $(seq 100); do
    kill -0 "$ctrd_pid" 2>/dev/null || { log "FAIL: containerd exited at start-up"; exit 1; }
    timeout 5 ctr -a "$sock" version >/dev/null 2>&1 && break
    sleep 0.1
done
timeout 5 ctr -a "$sock" version >/dev/null 2>&1 || { log "FAIL: containerd did not answer on $sock"; exit 1; }
log "containerd $(containerd --version | awk '{print $3}') up (pid $ctrd_pid, namespace $ns); runtime $runtime"

# --- image: busybox, made here -----------------------------------------------------------
sh "$repo/tests/support/make-busybox-rootfs.sh" "$tmp/rootfs" ||
    { log "FAIL: cannot make the busybox rootfs"; exit 1; }
bash "$here/make-oci-image.sh" "$tmp/rootfs" "$tmp/busybox.tar" "$image" >/dev/null ||
    { log "FAIL: cannot pack the OCI image"; exit 1; }
ctr_ images import "$tmp/busybox.tar" >"$tmp/import.out" 2>&1 ||
    { cat "$tmp/import.out"; log "FAIL: ctr images import"; exit 1; }
rm -rf "$tmp/rootfs"

# --- scenarios -----------------------------------------------------------------------------
passed=0
failed=0
err=$tmp/ctr.err
fail() { log "    $*"; [[ -s "$err" ]] && sed 's/^/      ctr: /' "$err"; return 1; }

# Prints the STATUS column of `ctr task ls` for a task (empty if there is none).
task_status() { ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }

wait_status() {  # wait_status <id> <status> [tenths of a second]
    local i
    for ((i = 0; i < ${3:-100}; i++)); do
        [[ "$(task_status "$1")" == "$2" ]] && return 0
        sleep 0.1
    done
    return 1
}

# Starts `sleep 300` detached as task $1.
start_sleeper() {
    ctr_ run -d --runc-binary "$runc_binary" "$image" "$1" /bin/sleep 300 </dev/null >/dev/null 2>"$err" ||
        fail "ctr run -d $1 failed" || return 1
    wait_status "$1" RUNNING 50 || fail "task $1 is '$(task_status "$1")', expected RUNNING"
}

# Kills, waits for and deletes task $1 and its container.
remove_sleeper() {
    ctr_ task kill -s SIGKILL "$1" 2>"$err" || fail "ctr task kill -s SIGKILL $1 failed" || return 1
    wait_status "$1" STOPPED 100 || fail "task $1 is '$(task_status "$1")' after SIGKILL, expected STOPPED" || return 1
    ctr_ task delete "$1" >/dev/null 2>"$err" || fail "ctr task delete $1 failed" || return 1
    [[ -z "$(task_status "$1")" ]] || fail "task $1 still listed after delete" || return 1
    ctr_ container delete "$1" 2>"$err" || fail "ctr container delete $1 failed"
}

scenario_run() {
    local out
    out=$(ctr_ run --rm --runc-binary "$runc_binary" "$image" "berth-run-$tag" /bin/echo hello-from-berth \
              </dev/null 2>"$err") || fail "ctr run --rm ... /bin/echo exited $?" || return 1
    [[ "$out" == hello-from-berth ]] || fail "output was '$out', expected 'hello-from-berth'" || return 1
    [[ -z "$(ctr_ container ls -q)" ]] || fail "container left behind after run --rm"
}

scenario_exit_code() {
    local rc=0
    ctr_ run --rm --runc-binary "$runc_binary" "$image" "berth-exit-$tag" /bin/sh -c 'exit 3' \
        </dev/null >/dev/null 2>"$err" || rc=$?
    ((rc == 3)) || fail "ctr run of 'exit 3' returned $rc, expected 3"
}

scenario_detached() {
    local id=berth-detached-$tag out
    start_sleeper "$id" || return 1
    out=$(ctr_ task exec --exec-id "probe-$tag" "$id" /bin/sh -c 'echo from-exec; tr "\0" " " </proc/1/cmdline' \
              </dev/null 2>"$err") || fail "ctr task exec failed" || return 1
    [[ "$out" == $'from-exec\n/bin/sleep 300 ' ]] ||
        fail "exec printed '$out', expected 'from-exec' and pid 1 = '/bin/sleep 300' (same pid namespace)" ||
        return 1
    local rc=0
    ctr_ task exec --exec-id "probe2-$tag" "$id" /bin/sh -c 'exit 5' </dev/null >/dev/null 2>"$err" || rc=$?
    ((rc == 5)) || fail "exec of 'exit 5' returned $rc, expected 5" || return 1
    remove_sleeper "$id"
}

scenario_ps() {
    local id=berth-ps-$tag pid out
    start_sleeper "$id" || return 1
    pid=$(ctr_ task ls | awk -v id="$id" '$1 == id { print $2 }')
    out=$(ctr_ task ps "$id" 2>"$err") || fail "ctr task ps failed" || return 1
    grep -qx "$pid" <<<"$(awk 'NR > 1 { print $1 }' <<<"$out")" ||
        fail "ctr task ps did not list the init pid $pid: $out" || return 1
    remove_sleeper "$id"
}

scenario_pause_resume() {
    local id=berth-pause-$tag
    start_sleeper "$id" || return 1
    ctr_ task pause "$id" 2>"$err" || fail "ctr task pause failed" || return 1
    wait_status "$id" PAUSED 50 || fail "task is '$(task_status "$id")' after pause, expected PAUSED" || return 1
    ctr_ task resume "$id" 2>"$err" || fail "ctr task resume failed" || return 1
    wait_status "$id" RUNNING 50 || fail "task is '$(task_status "$id")' after resume, expected RUNNING" || return 1
    remove_sleeper "$id"
}

for s in "${scenarios[@]}"; do
    fn=scenario_${s//-/_}
    if ! declare -F "$fn" >/dev/null; then
        log "unknown scenario '$s'"
        failed=$((failed + 1))
        continue
    fi
    : >"$err"
    start=$(date +%s%N)
    if "$fn"; then
        log "ok   $s ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
        passed=$((passed + 1))
    else
        log "FAIL $s"
        failed=$((failed + 1))
    fi
done

log "$passed passed, $failed failed"
((failed == 0))
