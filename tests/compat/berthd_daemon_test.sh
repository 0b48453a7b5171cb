#!/usr/bin/env bash
# End-to-end test of berthd itself (no other client needed): daemons side by side on their own
# roots and sockets, the socket's mode, refusal of a second daemon on a taken pidfile or socket,
# clean shutdown on SIGTERM, /events for image actions, and crash consistency: berthd is
# SIGKILLed at several moments of an import, restarted, and `berth system check` must leave a
# consistent store (a crash may leave work for --repair, never a broken image).
#
#   berthd_daemon_test.sh     (root; uses build/bin/berthd and build/bin/berth)
# Output: one ok/FAIL line per check; exit 0 all passed, 1 a failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$here/lib/daemon.sh"
compat_preflight
berth=${BERTH_COMPAT_BERTH:-$COMPAT_REPO/build/bin/berth}
berthd=${BERTH_COMPAT_BERTHD:-$COMPAT_REPO/build/bin/berthd}

work=$(mktemp -d /tmp/berth-test-daemon.XXXXXX)
extra_pids=()
compat_cleanup_hook() {
    local p
    for p in "${extra_pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
compat_daemon_init
bash "$here/make-rootfs-tar.sh" "$work/rootfs.tar" || { echo "FAIL: make-rootfs-tar"; exit 1; }

# --- two daemons side by side -------------------------------------------------------------
compat_daemon_start berthd || { echo "FAIL: first berthd"; exit 1; }
a_sock=$COMPAT_SOCK a_host=$COMPAT_HOST a_dir=$COMPAT_DIR a_pid=$COMPAT_PID
compat_daemon_start berthd || { echo "FAIL: second berthd"; exit 1; }
b_host=$COMPAT_HOST b_pid=$COMPAT_PID

compat_expect_eq "socket mode is 0660" "$(stat -c %a "$a_sock")" 660
compat_run_ok "import into daemon A" "$berth" -H "$a_host" import "$work/rootfs.tar" only-a:1
compat_run "$berth" -H "$a_host" images -q only-a:1
compat_expect_match "daemon A lists it" "$out" '^[0-9a-f]{12}$'
compat_run "$berth" -H "$b_host" images -q
compat_expect_eq "daemon B does not" "$out" ""
compat_run_fails "daemon B: inspect is a 404" "No such image: only-a:1" \
    "$berth" -H "$b_host" image inspect only-a:1

# --- refusals -----------------------------------------------------------------------------
compat_run_fails "second daemon on a live pidfile is refused" "pid file found" \
    "$berthd" --data-root "$work/c-data" --exec-root "$work/c-exec" -H "unix://$work/c.sock" \
    --pidfile "$a_dir/pid"
compat_run_fails "second daemon on a socket in use is refused" "$a_sock" \
    "$berthd" --data-root "$work/c-data" --exec-root "$work/c-exec" -H "$a_host" \
    --pidfile "$work/c.pid"
compat_run "$berth" -H "$a_host" images -q only-a:1
compat_expect_match "daemon A still answers after the refused start" "$out" '^[0-9a-f]{12}$'

# --- events -------------------------------------------------------------------------------
curl -sN --unix-socket "$a_sock" 'http://localhost/v1.44/events?filters=%7B%22type%22%3A%5B%22image%22%5D%7D' \
    >"$work/events.json" 2>/dev/null &
extra_pids+=($!)
sleep 0.3
compat_run_ok "tag in daemon A" "$berth" -H "$a_host" tag only-a:1 only-a:2
compat_run_ok "untag in daemon A" "$berth" -H "$a_host" rmi only-a:2
sleep 0.3
events=$(cat "$work/events.json")
compat_expect_line "events: tag with name attribute" "$events" \
    '\{.*"Type":"image".*"Action":"tag".*"name":"only-a:2".*\}|\{.*"Action":"tag".*"Type":"image".*\}'
compat_expect_contains "events: untag" "$events" '"Action":"untag"'
compat_expect_contains "events: deprecated status field (compose reads it)" "$events" '"status":"tag"'

# --- clean shutdown -----------------------------------------------------------------------
kill -TERM "$b_pid"
for _ in $(seq 100); do kill -0 "$b_pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$b_pid" 2>/dev/null; then compat_bad "SIGTERM stops berthd" "still running"
else
    wait "$b_pid"; rc=$?
    compat_expect_eq "SIGTERM stops berthd with status 0" "$rc" 0
fi

# --- crash consistency --------------------------------------------------------------------
# A bigger layer so that a kill lands inside the import: many files and some data.
mkdir -p "$work/big"
for d in $(seq 40); do
    mkdir -p "$work/big/d$d"
    for f in $(seq 50); do head -c 2048 /dev/urandom >"$work/big/d$d/f$f"; done
done
head -c $((24 << 20)) /dev/urandom >"$work/big/blob"
tar -C "$work/big" -cf "$work/big.tar" .
compat_daemon_stop "$a_pid"
for delay in 0.1 0.3 0.6 1.0 1.5; do
    compat_daemon_start berthd || { compat_bad "restart for crash at ${delay}s" "start failed"; continue; }
    curl -s --unix-socket "$COMPAT_SOCK" -X POST -H 'Content-Type: application/x-tar' \
        --data-binary "@$work/big.tar" \
        "http://localhost/v1.44/images/create?fromSrc=-&repo=crash&tag=t" >/dev/null 2>&1 &
    upload=$!
    sleep "$delay"
    kill -KILL "$COMPAT_PID"
    wait "$COMPAT_PID" 2>/dev/null
    # The upload must not reach the restarted daemon (curl may not have connected yet).
    kill -KILL "$upload" 2>/dev/null
    wait "$upload" 2>/dev/null
    # Restart on the same roots (a new daemon process, same directories).
    dir=$COMPAT_DIR
    unshare --mount --propagation private --net "$berthd" --data-root "$dir/data" \
        --exec-root "$dir/exec" -H "unix://$dir/d.sock" --pidfile "$dir/pid" \
        </dev/null >>"$dir/daemon.log" 2>&1 &
    pid=$!
    extra_pids+=("$pid")
    for _ in $(seq 200); do compat_ping "$dir/d.sock" && break; sleep 0.05; done
    host=unix://$dir/d.sock
    "$berth" -H "$host" system check >"$work/check1" 2>&1
    compat_run "$berth" -H "$host" system check --repair
    compat_run "$berth" -H "$host" system check
    if ((rc == 0)); then compat_ok "crash at ${delay}s: consistent after check --repair"
    else compat_bad "crash at ${delay}s: consistent after check --repair" "first check:" \
        "$(cat "$work/check1")" "after repair:" "$out"; fi
    # The image is either whole or absent; if whole, save reproduces its layer exactly.
    if "$berth" -H "$host" image inspect crash:t >/dev/null 2>&1; then
        rm -f "$work/crash.tar"
        compat_run "$berth" -H "$host" save -o "$work/crash.tar" crash:t
        listing=$(tar -tf "$work/crash.tar" 2>&1)
        if ((rc == 0)) && grep -qx manifest.json <<<"$listing"; then
            compat_ok "crash at ${delay}s: the imported image is whole (save works)"
        else
            compat_bad "crash at ${delay}s: the imported image is whole (save works)" \
                "save exit $rc: $out" "tar -tf: $listing" "first check: $(cat "$work/check1")" \
                "daemon log:" "$(tail -20 "$dir/daemon.log")"
        fi
    else
        compat_ok "crash at ${delay}s: the import left no image"
    fi
    kill -TERM "$pid"; wait "$pid" 2>/dev/null
done

compat_summary "berthd daemon"
