#!/usr/bin/env bash
# Compat test: berthd restarts and lost shims, driven with the real docker CLI 28.
#   1. SIGKILL of berthd with running containers (one printing a counter every 0.2 s, one with
#      -t, one that exits while the daemon is down): the containers and their shims keep
#      running; a new berthd on the same data root, exec root and socket re-adopts them: ps,
#      inspect (same PIDs), logs written while it was down (counter continuity), exec, attach
#      (through a pty, detach keys), stop, and the exit code of the one that ended meanwhile.
#   2. SIGKILL of one container's berth-shim: that container is marked exited with an error;
#      the daemon and the other containers are fine.
#   2b. SIGKILL of the shim launcher: running containers go on; the next run gets a new one.
#   3. SIGTERM of berthd (a clean stop) leaves the containers running; a new berthd re-adopts
#      them.
#   4. A reboot (the exec root emptied, the data root kept): an --rm container that was running
#      is gone, as moby's restore removes it; a created container stays.
# An --rm container (rmc) goes through 1 too: its record is in the exec root (engine's
# record_path), and the new berthd re-adopts it and removes it when it is stopped.
#
#   containers_restart_test.sh
# Environment: BERTH_COMPAT_DOCKER_CLI and lib/daemon.sh's variables (berthd only: this is
# about berthd's shims). Output: one "ok"/"FAIL"/"skip" line per check; exit 0 all passed,
# 1 a failure, 77 skipped.
# Container commands are in single quotes on purpose: the container's shell expands them.
# shellcheck disable=SC2016
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$here/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/containers.sh
source "$here/lib/containers.sh"

[[ "${BERTH_COMPAT_DAEMON:-berthd}" == berthd ]] || { echo "SKIPPED: berthd only"; exit 77; }
compat_preflight
docker=$(compat_docker_cli) || compat_skip_or_fail "docker CLI 28.x not found (BERTH_COMPAT_DOCKER_CLI)"
command -v nsenter >/dev/null || compat_skip_or_fail "nsenter not installed"

work=$(mktemp -d /tmp/berth-test-compat-crestart.XXXXXX)
compat_cleanup_hook() { compat_containers_cleanup; rm -rf "$work"; }
compat_daemon_init
compat_daemon_start berthd || { echo "FAIL: daemon start"; exit 1; }
export DOCKER_HOST=$COMPAT_HOST DOCKER_CONFIG=$work/docker-config
unset DOCKER_API_VERSION DOCKER_CONTEXT
image_id=$(compat_busybox_image "$docker" "$work") || { echo "FAIL: import busybox: $image_id"; exit 1; }

insp() { "$docker" inspect --format "$1" "$2" 2>&1; }
poll() {
    local end=$((SECONDS + $1))
    shift
    while ((SECONDS < end)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    "$@" >/dev/null 2>&1
}
state_is() { [[ "$(insp '{{.State.Status}}' "$1")" == "$2" ]]; }
alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }
# counter_ok <log text> <prefix>: the lines are <prefix>0, <prefix>1, ... with no gap.
counter_ok() {
    awk -v p="$2" '{ if ($0 != p (NR - 1)) { print "line " NR ": " $0; exit 1 } }' <<<"$1"
}
last_count() { tail -1 <<<"$1" | sed 's/^[a-z]*-//'; }
# The shim launcher: the berth-shim that is berthd's child (shims are the launcher's).
launcher_pid() {
    local p
    for p in /proc/[0-9]*; do
        [[ "$(cat "$p/comm" 2>/dev/null)" == berth-shim ]] || continue
        if [[ "$(awk '/^PPid:/ {print $2}' "$p/status" 2>/dev/null)" == "$COMPAT_PID" ]]; then
            echo "${p#/proc/}"
            return 0
        fi
    done
}

# --- containers --------------------------------------------------------------------------------
loop='i=0; while true; do echo P-$i; i=$((i+1)); sleep 0.2; done'
"$docker" run -d --name counter busybox sh -c "${loop//P/c}" >/dev/null 2>&1
"$docker" run -dit --name ttyc busybox sh -c "${loop//P/t}" >/dev/null 2>&1
"$docker" run -d --name victim busybox sleep 1000 >/dev/null 2>&1
# `ends` exits when the test creates /trig/go, which it does while the daemon is down.
mkdir -p "$work/trig"
"$docker" run -d --name ends -v "$work/trig:/trig" busybox \
    sh -c 'while [ ! -e /trig/go ]; do sleep 0.1; done; exit 7' >/dev/null 2>&1
"$docker" run -d --rm --name rmc busybox sleep 1000 >/dev/null 2>&1
for c in counter ttyc victim ends rmc; do
    poll 10 state_is "$c" running
    compat_expect_eq "$c is running" "$(insp '{{.State.Status}}' "$c")" running
done
declare -A pid id shim
for c in counter ttyc victim ends rmc; do
    pid[$c]=$(insp '{{.State.Pid}}' "$c")
    id[$c]=$(insp '{{.Id}}' "$c")
    shim[$c]=$(compat_shim_pid "${id[$c]}")
done
compat_expect_match "each container has its berth-shim" "${shim[counter]} ${shim[ttyc]} ${shim[victim]}" \
    '^[0-9]+ [0-9]+ [0-9]+$'
sleep 1
before=$("$docker" logs counter 2>&1)
n_before=$(last_count "$before")

compat_require_daemon containers_restart_test
# --- 1. SIGKILL of berthd ----------------------------------------------------------------------
old_pid=$COMPAT_PID
launcher=$(launcher_pid)
compat_expect_match "berthd has a shim launcher" "$launcher" '^[0-9]+$'
compat_daemon_kill
compat_expect_eq "berthd is gone after SIGKILL" "$(dead "$old_pid" && echo dead)" dead
poll 5 dead "$launcher"
compat_expect_eq "berthd killed: its shim launcher exits too" "$(dead "$launcher" && echo dead)" dead
for c in counter ttyc victim ends; do
    compat_expect_eq "daemon down: $c's process still runs" "$(alive "${pid[$c]}" && echo alive)" alive
    compat_expect_eq "daemon down: $c's shim still runs" "$(alive "${shim[$c]}" && echo alive)" alive
done
touch "$work/trig/go"
sleep 3   # the counter goes on, and `ends` exits, while no daemon listens
compat_expect_eq "daemon down: ends exited meanwhile" "$(dead "${pid[ends]}" && echo dead)" dead
compat_daemon_restart || { echo "FAIL: berthd restart"; exit 1; }
compat_ok "a new berthd starts on the same data root, exec root and socket"
compat_run "$docker" ps --format '{{.Names}} {{.Status}}'
for c in counter ttyc victim; do
    compat_expect_line "after restart: ps shows $c Up" "$out" "$c Up .*"
done
for c in counter ttyc victim; do
    compat_expect_eq "after restart: $c has the same PID" "$(insp '{{.State.Pid}}' "$c")" "${pid[$c]}"
done
compat_expect_eq "after restart: ends is exited with its code (7)" \
    "$(insp '{{.State.Status}} {{.State.ExitCode}}' ends)" "exited 7"
compat_run "$docker" wait ends
compat_expect_eq "after restart: wait of ends prints 7" "$out" 7
compat_expect_eq "after restart: the --rm container runs, same PID" \
    "$(insp '{{.State.Status}} {{.State.Pid}}' rmc)" "running ${pid[rmc]}"
compat_run_ok "after restart: stop the --rm container" "$docker" stop -t 1 rmc
gone() { ! "$docker" inspect "$1" >/dev/null 2>&1; }
poll 5 gone rmc
compat_expect_eq "after restart: the --rm container removed itself" "$(gone rmc && echo gone)" gone
poll 5 dead "${shim[rmc]}"
compat_expect_eq "after restart: the --rm container's directory is gone" \
    "$(ls -d "$COMPAT_DATA_ROOT/containers/${id[rmc]}" "$COMPAT_EXEC_ROOT/containers/${id[rmc]}" 2>&1 |
       grep -v 'No such file')" ""
sleep 0.6
after=$("$docker" logs counter 2>&1)
if bad=$(counter_ok "$after" c-); then
    compat_ok "after restart: counter log has no gap (c-0 .. c-$(last_count "$after"))"
else
    compat_bad "after restart: counter log has no gap" "$bad" "last lines:" "$(tail -5 <<<"$after")"
fi
n_after=$(last_count "$after")
# 3 s down at 5 lines a second: at least 10 lines more than before the kill.
if [[ "$n_before" =~ ^[0-9]+$ && "$n_after" =~ ^[0-9]+$ ]] && ((n_after >= n_before + 10)); then
    compat_ok "after restart: lines written while the daemon was down are in the log ($n_before -> $n_after)"
else
    compat_bad "after restart: lines written while the daemon was down are in the log" \
        "last before the kill: $n_before, last now: $n_after"
fi
sleep 1
compat_run "$docker" logs counter
compat_expect_match "after restart: logs keep flowing" "$(last_count "$out")" '^[0-9]+$'
n_now=$(last_count "$out")
if [[ "$n_now" =~ ^[0-9]+$ && "$n_after" =~ ^[0-9]+$ ]] && ((n_now > n_after)); then
    compat_ok "after restart: new lines after the restart"
else
    compat_bad "after restart: new lines after the restart" "before: $n_after, now: $n_now"
fi
compat_run "$docker" exec counter echo exec-after-restart
compat_expect_eq "after restart: exec works" "$rc|$out" "0|exec-after-restart"
compat_run "$docker" exec counter sh -c 'exit 3'
compat_expect_eq "after restart: exec exit code" "$rc" 3
compat_run "${COMPAT_PTY[@]}" --timeout 30 -- "$docker" exec -it ttyc tty
compat_expect_match "after restart: exec -it gets a pty" "$rc:$out" '^0:/dev/pts/[0-9]+'
compat_run "${COMPAT_PTY[@]}" --timeout 30 --expect 't-[0-9]+' --send '\x10\x11' -- "$docker" attach ttyc
compat_expect_line "after restart: attach (pty) gets live output" "$out" "t-[0-9]+"
compat_expect_match "after restart: attach detaches with ctrl-p ctrl-q" "$rc" '^[01]$'
sleep 0.5
compat_expect_eq "after restart: ttyc still running after the detach" "$(insp '{{.State.Status}}' ttyc)" running
compat_run timeout -k 2 2 "$docker" attach --no-stdin --sig-proxy=false counter
compat_expect_line "after restart: attach (no tty) gets live output" "$out" "c-[0-9]+"
compat_run "$docker" run --rm busybox echo new-after-restart
compat_expect_eq "after restart: a new container runs" "$rc|$out" "0|new-after-restart"
compat_run_ok "after restart: stop counter" "$docker" stop -t 1 counter
compat_expect_eq "after restart: counter stopped (137: sh ignores TERM)" \
    "$(insp '{{.State.Status}} {{.State.ExitCode}}' counter)" "exited 137"
poll 5 dead "${pid[counter]}"
compat_expect_eq "after restart: counter's process is gone" "$(dead "${pid[counter]}" && echo dead)" dead
poll 5 dead "${shim[counter]}"
compat_expect_eq "after restart: counter's shim is gone" "$(dead "${shim[counter]}" && echo dead)" dead
compat_run_ok "after restart: start counter again" "$docker" start counter
compat_expect_eq "after restart: counter runs again" "$(insp '{{.State.Status}}' counter)" running

compat_require_daemon containers_restart_test
# --- 2. SIGKILL of a shim ----------------------------------------------------------------------
victim_shim=$(compat_shim_pid "${id[victim]}")
compat_expect_eq "victim's shim is the one from before the restart" "$victim_shim" "${shim[victim]}"
kill -KILL "$victim_shim" 2>/dev/null
poll 15 state_is victim exited
compat_expect_eq "shim killed: the container is marked exited" "$(insp '{{.State.Status}}' victim)" exited
compat_expect_match "shim killed: State.Error says what happened" "$(insp '{{.State.Error}}' victim)" '.+'
echo "     (victim: ExitCode $(insp '{{.State.ExitCode}}' victim), Error: $(insp '{{.State.Error}}' victim))"
compat_expect_match "shim killed: a non-zero ExitCode (moby: 255 when the exit is unknown)" \
    "$(insp '{{.State.ExitCode}}' victim)" '^[1-9][0-9]*$'
poll 10 dead "${pid[victim]}"
compat_expect_eq "shim killed: the container's process does not outlive it" \
    "$(dead "${pid[victim]}" && echo dead)" dead
compat_expect_eq "shim killed: the daemon is alive" "$(alive "$COMPAT_PID" && echo alive)" alive
compat_run "$docker" ps --format '{{.Names}}'
compat_expect_eq "shim killed: ps lists the others" "$(sort <<<"$out")" "$(printf 'counter\nttyc')"
compat_run "$docker" exec ttyc echo still-fine
compat_expect_eq "shim killed: exec in another container works" "$out" "still-fine"
compat_run_ok "shim killed: rm of the victim" "$docker" rm victim
compat_run_ok "shim killed: the victim's name can be reused" "$docker" run --rm --name victim busybox true

compat_require_daemon containers_restart_test
# --- 2b. SIGKILL of the shim launcher ----------------------------------------------------------
# Running shims are its children: they go on; the next start gets a new launcher.
launcher=$(launcher_pid)
compat_expect_match "the new berthd has a shim launcher" "$launcher" '^[0-9]+$'
kill -KILL "$launcher" 2>/dev/null
poll 5 dead "$launcher"
compat_expect_eq "launcher killed: it is gone" "$(dead "$launcher" && echo dead)" dead
compat_expect_eq "launcher killed: counter's shim still runs" \
    "$(alive "$(compat_shim_pid "${id[counter]}")" && echo alive)" alive
compat_run "$docker" run --rm busybox echo relaunched
compat_expect_eq "launcher killed: run --rm still works" "$out" "relaunched"
new_launcher=$(launcher_pid)
compat_expect_match "launcher killed: berthd started another" "$new_launcher" '^[0-9]+$'
compat_run "$docker" exec counter echo exec-after-relaunch
compat_expect_eq "launcher killed: exec in a running container works" "$out" "exec-after-relaunch"
compat_expect_eq "launcher killed: counter still runs" "$(insp '{{.State.Status}}' counter)" running

compat_require_daemon containers_restart_test
# --- 3. SIGTERM of berthd ----------------------------------------------------------------------
pid[counter]=$(insp '{{.State.Pid}}' counter)
shim[counter]=$(compat_shim_pid "${id[counter]}")
sleep 0.5
before=$("$docker" logs ttyc 2>&1 | tr -d '\r')
compat_daemon_term
compat_expect_eq "SIGTERM: berthd stopped" "$(dead "$COMPAT_PID" && echo dead)" dead
for c in counter ttyc; do
    compat_expect_eq "SIGTERM: $c's process still runs" "$(alive "${pid[$c]}" && echo alive)" alive
    compat_expect_eq "SIGTERM: $c's shim still runs" "$(alive "${shim[$c]}" && echo alive)" alive
done
sleep 1
compat_daemon_restart || { echo "FAIL: berthd restart after SIGTERM"; exit 1; }
compat_ok "SIGTERM: a new berthd starts"
compat_run "$docker" ps --format '{{.Names}} {{.Status}}'
compat_expect_line "SIGTERM + restart: ttyc Up" "$out" "ttyc Up .*"
compat_expect_line "SIGTERM + restart: counter Up" "$out" "counter Up .*"
compat_expect_eq "SIGTERM + restart: same PID" "$(insp '{{.State.Pid}}' ttyc)" "${pid[ttyc]}"
sleep 0.5
after=$("$docker" logs ttyc 2>&1 | tr -d '\r')
if bad=$(counter_ok "$after" t-); then
    compat_ok "SIGTERM + restart: the -t container's log has no gap (t-0 .. t-$(last_count "$after"))"
else
    compat_bad "SIGTERM + restart: the -t container's log has no gap" "$bad"
fi
n_a=$(last_count "$after") n_b=$(last_count "$before")
if [[ "$n_a" =~ ^[0-9]+$ && "$n_b" =~ ^[0-9]+$ ]] && ((n_a >= n_b + 4)); then
    compat_ok "SIGTERM + restart: output while the daemon was down is in the log"
else
    compat_bad "SIGTERM + restart: output while the daemon was down is in the log" \
        "before: $n_b, after: $n_a"
fi
compat_run "$docker" exec ttyc echo after-term
compat_expect_eq "SIGTERM + restart: exec works" "$out" "after-term"
compat_run_ok "SIGTERM + restart: rm -f of both" "$docker" rm -f counter ttyc
poll 5 dead "${pid[ttyc]}"
compat_expect_eq "rm -f: the processes are gone" \
    "$(dead "${pid[ttyc]}" && dead "${pid[counter]}" && echo dead)" dead
compat_expect_eq "rm -f: no berth-shim left" "$(compat_shim_pid '')" ""

compat_require_daemon containers_restart_test
# --- 4. a reboot -------------------------------------------------------------------------------
# What a reboot does to berthd's files: the processes are gone, and the exec root with them (a
# tmpfs, /run/berth); the data root stays.
"$docker" run -d --rm --name rb busybox sleep 1000 >/dev/null 2>&1
"$docker" create --name kept busybox true >/dev/null 2>&1
poll 10 state_is rb running
rb_id=$(insp '{{.Id}}' rb) rb_pid=$(insp '{{.State.Pid}}' rb)
rb_shim=$(compat_shim_pid "$rb_id")
compat_expect_match "reboot: the --rm container runs" "$rb_pid $rb_shim" '^[0-9]+ [0-9]+$'
compat_daemon_kill
kill -KILL "$rb_shim" "$rb_pid" 2>/dev/null
poll 5 dead "$rb_pid"
rm -rf "${COMPAT_EXEC_ROOT:?}"/*
compat_daemon_restart || { echo "FAIL: berthd restart after the reboot"; exit 1; }
compat_expect_eq "reboot: the --rm container that ran is gone" "$(gone rb && echo gone)" gone
compat_expect_eq "reboot: a created container stays" "$(insp '{{.State.Status}}' kept)" created
poll 5 eval '[[ ! -e "$COMPAT_DATA_ROOT/containers/$rb_id" ]]'
compat_expect_eq "reboot: the --rm container's directory on the data root is removed" \
    "$(ls -d "$COMPAT_DATA_ROOT/containers/$rb_id" 2>/dev/null)" ""
compat_run_ok "reboot: a new container runs" "$docker" run --rm busybox true
compat_run_ok "reboot: rm of the created one" "$docker" rm kept

compat_summary "containers_restart_test"
