# shellcheck shell=bash
# Helpers for the container compat tests, on top of lib/daemon.sh (source that first).
#
#   compat_busybox_image <docker> <workdir>   imports the busybox rootfs as busybox:latest
#                                             (CMD ["sh"]); prints the image ID
#   compat_containers_cleanup                 removes every container of the current daemon,
#                                             and kills what is left of them (see below)
#   compat_shim_pid <container-id>            the berth-shim of a container (empty if none)
#   compat_require_daemon <label>            ends the script (FAIL + the daemon's log tail +
#                                             compat_summary) if the daemon has died, so that a
#                                             crash shows as itself, not as 200 failures
#   compat_daemon_kill                        SIGKILL of the current daemon, waited for
#   compat_daemon_restart                     a new berthd on the same data root, exec root,
#                                             socket and temp dir as the current one
#   "${COMPAT_PTY[@]}" <pty_run.py args...>   runs lib/pty_run.py (a command on a pty); an
#                                             array, not a function, so that compat_run's
#                                             `timeout` can run it
#
# Why the cleanup goes beyond `docker rm -f`: a container's processes do not mention our temp
# directory, so daemon.sh's "kill what names the dir" does not reach them. Their cgroups are
# /$COMPAT_CGROUP_PARENT/<id> (daemon.sh starts berthd with --cgroup-parent); the IDs under
# <data-root>/containers are our daemon's own, so killing the processes of those cgroups and
# removing them touches nothing of anyone else.

# compat_busybox_image <docker> <workdir>
compat_busybox_image() {
    local docker=$1 work=$2
    bash "$COMPAT_LIB_DIR/../make-rootfs-tar.sh" "$work/rootfs.tar" >&2 || return 1
    "$docker" import -c 'CMD ["sh"]' "$work/rootfs.tar" busybox:latest
}

# compat_shim_pid <id>: the PID whose command line is `berth-shim <exec-root>/containers/<id>`.
compat_shim_pid() {
    local want="$COMPAT_EXEC_ROOT/containers/$1" p args
    for p in /proc/[0-9]*; do
        args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        if [[ "$args" == *berth-shim\ "$want"* ]]; then
            echo "${p#/proc/}"
            return 0
        fi
    done
    return 0
}

# Kills the processes of one container cgroup (thawing a frozen one first) and removes it.
compat__kill_container_cgroup() {
    local id=$1 cg any=0 p
    for cg in /sys/fs/cgroup/*/"$COMPAT_CGROUP_PARENT"/"$id" /sys/fs/cgroup/unified/"$COMPAT_CGROUP_PARENT"/"$id"; do
        [[ -d "$cg" ]] || continue
        any=1
        [[ -f "$cg/freezer.state" ]] && echo THAWED >"$cg/freezer.state" 2>/dev/null
        [[ -f "$cg/cgroup.freeze" ]] && echo 0 >"$cg/cgroup.freeze" 2>/dev/null
        while read -r p; do
            compat_log "killing leftover container process $p (cgroup $cg)"
            kill -KILL "$p" 2>/dev/null
        done < <(cat "$cg"/cgroup.procs 2>/dev/null)
    done
    ((any)) || return 0
    for _ in $(seq 30); do
        local left=0
        for cg in /sys/fs/cgroup/*/"$COMPAT_CGROUP_PARENT"/"$id" /sys/fs/cgroup/unified/"$COMPAT_CGROUP_PARENT"/"$id"; do
            [[ -d "$cg" ]] || continue
            find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
            [[ -d "$cg" ]] && left=1
        done
        ((left)) || return 0
        sleep 0.1
    done
    compat_log "warning: cannot remove the cgroups of container $id"
}

# compat_containers_cleanup: `rm -f` of every container through the API (a live daemon), then
# the leftovers by cgroup. Safe to call with no daemon running.
compat_containers_cleanup() {
    [[ -n "${COMPAT_DATA_ROOT:-}" && -d "$COMPAT_DATA_ROOT/containers" ]] || return 0
    local d id
    for d in "$COMPAT_DATA_ROOT"/containers/*/; do
        [[ -d "$d" ]] || continue
        id=$(basename "$d")
        [[ "$id" =~ ^[0-9a-f]{64}$ ]] || continue
        if [[ -n "${COMPAT_SOCK:-}" && -S "$COMPAT_SOCK" ]]; then
            curl -s -m 20 --unix-socket "$COMPAT_SOCK" -o /dev/null -X DELETE \
                "http://localhost/containers/$id?force=1" 2>/dev/null
        fi
        compat__kill_container_cgroup "$id"
    done
    # Shims of containers removed from disk but still alive.
    local p args
    for p in /proc/[0-9]*; do
        args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        if [[ -n "${COMPAT_EXEC_ROOT:-}" && "$args" == *berth-shim\ "$COMPAT_EXEC_ROOT/"* ]]; then
            compat_log "killing leftover shim $p ($args)"
            kill -KILL "${p#/proc/}" 2>/dev/null
        fi
    done
    return 0
}

# compat_require_daemon <summary label>
compat_require_daemon() {
    kill -0 "$COMPAT_PID" 2>/dev/null && return 0
    local st
    wait "$COMPAT_PID" 2>/dev/null
    st=$?
    compat_bad "the daemon is alive (it exited with status $st: $( ((st > 128)) && kill -l $((st - 128)) 2>/dev/null))" \
        "last lines of $COMPAT_LOG:" "$(tail -20 "$COMPAT_LOG" 2>&1)"
    compat_summary "$1"
    exit 1
}

# compat_daemon_kill: SIGKILL of the current daemon ($COMPAT_PID), waited for. Its temp dir,
# roots and socket stay (the containers' shims keep running).
compat_daemon_kill() {
    kill -KILL "$COMPAT_PID" 2>/dev/null
    wait "$COMPAT_PID" 2>/dev/null
    return 0
}

# compat_daemon_term: SIGTERM of the current daemon, waited for (up to 20 s, then SIGKILL).
compat_daemon_term() {
    kill -TERM "$COMPAT_PID" 2>/dev/null
    for _ in $(seq 200); do kill -0 "$COMPAT_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$COMPAT_PID" 2>/dev/null; then
        compat_log "warning: daemon $COMPAT_PID did not stop within 20 s of SIGTERM: SIGKILL"
        kill -KILL "$COMPAT_PID" 2>/dev/null
    fi
    wait "$COMPAT_PID" 2>/dev/null
    return 0
}

# compat_daemon_restart: starts a berthd on the same dirs and socket as the current (stopped)
# one, and waits for /_ping. On a real host a restarted daemon finds the mounts and network of
# the one before; here each daemon has its own mount and network namespace (daemon.sh), so the
# new one joins the namespaces the old one left behind, which its containers' shims still hold
# (a shim is spawned by berthd and shares its namespaces). With no shim left it gets new ones,
# as daemon.sh does. The new daemon is registered with daemon.sh's list (same temp dir), so the
# EXIT trap stops it and cleans the directory; the old entry's process is already gone.
compat_daemon_restart() {
    local bin=${BERTH_COMPAT_BERTHD:-$COMPAT_REPO/build/bin/berthd}
    if kill -0 "$COMPAT_PID" 2>/dev/null; then
        compat_log "compat_daemon_restart: daemon $COMPAT_PID is still running"
        return 2
    fi
    local holder='' p args
    for p in /proc/[0-9]*; do
        args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        if [[ "$args" == *berth-shim\ "$COMPAT_EXEC_ROOT/containers/"* ]]; then
            holder=${p#/proc/}
            break
        fi
    done
    local n=2
    # shellcheck disable=SC2153  # set by compat_daemon_start (daemon.sh)
    while [[ -e "$COMPAT_DIR/daemon.$n.log" ]]; do n=$((n + 1)); done
    COMPAT_LOG=$COMPAT_DIR/daemon.$n.log
    local args=(--data-root "$COMPAT_DATA_ROOT" --exec-root "$COMPAT_EXEC_ROOT"
                -H "$COMPAT_HOST" --pidfile "$COMPAT_DIR/pid"
                --cgroup-parent "/$COMPAT_CGROUP_PARENT")
    [[ -n "${BERTH_COMPAT_LOG_LEVEL:-}" ]] && args+=(--log-level "$BERTH_COMPAT_LOG_LEVEL")
    if [[ -n "$holder" ]]; then
        compat_log "restarting berthd in the namespaces of shim $holder"
        nsenter --mount="/proc/$holder/ns/mnt" --net="/proc/$holder/ns/net" -- \
            "$bin" "${args[@]}" </dev/null >"$COMPAT_LOG" 2>&1 &
    else
        compat_log "restarting berthd in new namespaces (no shim left)"
        unshare --mount --propagation private --net "$bin" "${args[@]}" \
            </dev/null >"$COMPAT_LOG" 2>&1 &
    fi
    COMPAT_PID=$!
    compat__pids+=("$COMPAT_PID")
    compat__dirs+=("$COMPAT_DIR")
    local start=$SECONDS
    compat__await_ping "restarted berthd" || return 1
    compat_log "berthd restarted: pid $COMPAT_PID ($((SECONDS - start))s)"
}

# shellcheck disable=SC2034  # used by the scripts that source this file
COMPAT_PTY=(/usr/bin/python3 "$COMPAT_LIB_DIR/pty_run.py")
