# shellcheck shell=bash
# Private daemons for the compat tests and the image benchmark: a berthd or a Debian dockerd,
# each with its own data root, exec root, socket, pidfile and log under one temp directory, and
# an EXIT trap that stops only the processes it started and removes their mounts and dirs, even
# when the test fails half-way.
#
#   source tests/compat/lib/daemon.sh
#   compat_daemon_init              # installs the EXIT/INT/TERM traps (once per script)
#   compat_daemon_start [berthd|dockerd]   # default: $BERTH_COMPAT_DAEMON, else berthd
#       sets COMPAT_KIND COMPAT_DIR COMPAT_SOCK COMPAT_HOST (unix://…) COMPAT_PID
#            COMPAT_DATA_ROOT COMPAT_EXEC_ROOT COMPAT_LOG COMPAT_CGROUP_PARENT
#   compat_daemon_stop [pid]        # stops one (default: the last started); the trap stops the rest
#   compat_cleanup_hook             # define it to run your own cleanup before the daemons stop
#
# Call compat_daemon_start in the script's own shell (not in "$(…)"): the daemon must be our
# child, so that we can wait for it.
#
# Environment:
#   BERTH_COMPAT_DAEMON   berthd (default) or dockerd
#   BERTH_COMPAT_BERTHD   berthd binary (default <repo>/build/bin/berthd)
#   BERTH_COMPAT_DOCKERD  dockerd binary (default /usr/sbin/dockerd, Debian's docker.io 20.10)
#   BERTH_COMPAT_LOG_LEVEL  --log-level for the daemon (e.g. debug)
#   COMPAT_DAEMON_ARGS    more flags for the next daemon started (split on blanks)
#   COMPAT_EXEC_TMPFS=1   the daemon's exec root on a tmpfs of its own, as /run is on a standard
#                         install (benchmarks; unmounted with the rest of its directory)
#   BERTH_COMPAT_KEEP=1   keep the temp directories (logs, roots) for a post-mortem
#   BERTH_COMPAT_TIMEOUT  seconds to wait for /_ping (default 60)
#
# Isolation: every daemon runs in its own mount and network namespace (`unshare --mount
# --propagation private --net`, which execs the daemon, so the PID we hold is the daemon's).
# Mounts it makes (dockerd's overlay2 bind, netns files) never reach the host and vanish with
# it; no bridge, route or iptables rule it could make touches the host's network. The unix
# socket is a file, so clients in the host namespaces reach it as usual.
#
# dockerd is started with the flags that keep it off the host's network (--bridge=none,
# --iptables=false, --ip6tables=false, --ip-masq=false, --userland-proxy=false, and
# --ip-forward=false because the bridge driver would otherwise set the ip_forward sysctl), its
# own --config-file (so /etc/docker/daemon.json is not read) that sets deprecated-key-path (so it
# does not write /etc/docker/key.json). Without --containerd, dockerd 20.10 starts its own
# containerd child with root <data-root>/containerd/daemon and state and socket under
# <exec-root>/containerd: all inside our directory.

COMPAT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
COMPAT_REPO=$(cd "$COMPAT_LIB_DIR/../../.." && pwd)

compat__pids=()   # daemons we started, in order
compat__dirs=()   # their temp directories, same order
compat__trap_set=0
compat__made_run_docker=0   # dockerd made /run/docker/plugins (plugin discovery); we remove it

compat_log() { echo "compat: $*" >&2; }

# Prints the PIDs whose command line mentions $1 (our unique temp dir): children
# the daemon left behind (dockerd's containerd, shims).
compat__pids_mentioning() {
    local p args
    for p in /proc/[0-9]*; do
        [[ "${p#/proc/}" == "$$" || "${p#/proc/}" == "$BASHPID" ]] && continue
        args=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
        [[ "$args" == *"$1"* ]] && echo "${p#/proc/}"
    done
    return 0
}

# Unmounts everything the host namespace has under $1, deepest first.
compat__unmount_under() {
    local dir=$1 mp
    awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        while read -r mp; do
            umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null ||
                compat_log "warning: cannot unmount $mp"
        done
}

# The host keeps cgroups a daemon made for containers under our parent; remove them.
compat__remove_cgroups() {
    local name=$1 cg
    for cg in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/unified/"$name"; do
        [[ -d "$cg" ]] || continue
        for _ in $(seq 20); do
            find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
            [[ -d "$cg" ]] || break
            sleep 0.1
        done
        [[ -d "$cg" ]] && compat_log "warning: cannot remove cgroup $cg"
    done
    return 0
}

# compat_daemon_init: traps that stop every daemon we started, whatever ends the script.
compat_daemon_init() {
    ((compat__trap_set)) && return 0
    compat__trap_set=1
    trap compat__on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # A reader that went away (`| head`) must not kill us before the cleanup has run.
    trap 'exit 141' PIPE
}

compat__on_exit() {
    local status=$?
    set +e
    trap '' PIPE   # the cleanup's own messages may go to a closed pipe
    if declare -F compat_cleanup_hook >/dev/null; then
        compat_cleanup_hook
    fi
    local i
    for ((i = ${#compat__pids[@]} - 1; i >= 0; i--)); do
        compat__stop_index "$i"
    done
    # Only if it did not exist before our first dockerd, and only while empty.
    if ((compat__made_run_docker)); then
        rmdir /run/docker/plugins /run/docker 2>/dev/null
    fi
    exit "$status"
}

# Stops daemon number $1 of our list (idempotent): TERM, up to 20 s, then KILL; then any
# process still naming its directory; unmounts, cgroups, directory.
compat__stop_index() {
    local i=$1 pid=${compat__pids[$1]} dir=${compat__dirs[$1]}
    [[ -n "$pid" ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            compat_log "warning: daemon $pid did not stop within 20 s of SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    local p
    for p in $(compat__pids_mentioning "$dir"); do
        compat_log "killing leftover process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80))"
        kill -KILL "$p" 2>/dev/null
    done
    compat__unmount_under "$dir"
    compat__remove_cgroups "berth-test-compat-$(basename "$dir" | sed 's/.*\.//')"
    if [[ "${BERTH_COMPAT_KEEP:-}" == 1 ]]; then
        compat_log "kept $dir"
    else
        rm -rf "$dir"
    fi
    compat__pids[i]=
}

# compat_daemon_stop [pid]: stops the daemon with that PID (default: the last one started).
compat_daemon_stop() {
    local want=${1:-$COMPAT_PID} i
    for i in "${!compat__pids[@]}"; do
        [[ "${compat__pids[$i]}" == "$want" ]] && compat__stop_index "$i"
    done
    return 0
}

# Answers 0 when the daemon on socket $1 says 200 to GET /_ping.
compat_ping() {
    local code
    code=$(curl -s -m 5 --unix-socket "$1" -o /dev/null -w '%{http_code}' http://localhost/_ping \
           2>/dev/null) || return 1
    [[ "$code" == 200 ]]
}

# compat_daemon_start [kind]: starts a private daemon and waits until it answers /_ping.
# Returns non-zero (after printing the end of its log) if it does not come up.
compat_daemon_start() {
    local kind=${1:-${BERTH_COMPAT_DAEMON:-berthd}}
    compat_daemon_init
    local dir bin
    case "$kind" in
        berthd) bin=${BERTH_COMPAT_BERTHD:-$COMPAT_REPO/build/bin/berthd} ;;
        dockerd) bin=${BERTH_COMPAT_DOCKERD:-/usr/sbin/dockerd} ;;
        *) compat_log "unknown daemon kind '$kind' (berthd or dockerd)"; return 2 ;;
    esac
    if [[ ! -x "$bin" ]]; then
        compat_log "$kind binary $bin is not an executable"
        return 2
    fi
    dir=$(mktemp -d "/tmp/berth-test-compat-$kind.XXXXXX")
    local suffix=${dir##*.}
    # For the caller (the header lists them).
    # shellcheck disable=SC2034
    COMPAT_KIND=$kind COMPAT_DIR=$dir
    COMPAT_DATA_ROOT=$dir/data
    COMPAT_EXEC_ROOT=$dir/exec
    COMPAT_SOCK=$dir/d.sock
    COMPAT_HOST=unix://$COMPAT_SOCK
    COMPAT_LOG=$dir/daemon.log
    mkdir -p "$COMPAT_DATA_ROOT" "$COMPAT_EXEC_ROOT"
    if [[ "${COMPAT_EXEC_TMPFS:-}" == 1 ]] &&
        ! mount -t tmpfs -o mode=0700,size=256m berth-test-exec "$COMPAT_EXEC_ROOT"; then
        compat_log "cannot mount a tmpfs on $COMPAT_EXEC_ROOT"
        rm -rf "$dir"
        return 1
    fi
    local args=(--data-root "$COMPAT_DATA_ROOT" --exec-root "$COMPAT_EXEC_ROOT"
                -H "$COMPAT_HOST" --pidfile "$dir/pid")
    [[ -n "${BERTH_COMPAT_LOG_LEVEL:-}" ]] && args+=(--log-level "$BERTH_COMPAT_LOG_LEVEL")
    if [[ -n "${COMPAT_DAEMON_ARGS:-}" ]]; then  # extra flags, split on blanks
        local extra
        read -ra extra <<<"$COMPAT_DAEMON_ARGS"
        args+=("${extra[@]}")
    fi
    if [[ "$kind" == dockerd ]]; then
        [[ -e /run/docker ]] || compat__made_run_docker=1
        # The trust key's path is a hidden setting with no flag in 20.10, only a config key.
        printf '{"deprecated-key-path": "%s"}\n' "$dir/key.json" >"$dir/daemon.json"
        args+=(--config-file "$dir/daemon.json"
               --bridge=none --iptables=false --ip6tables=false --ip-masq=false
               --ip-forward=false --userland-proxy=false
               --containerd-namespace "berth-test-compat-$suffix"
               --containerd-plugins-namespace "berth-test-compat-$suffix-plugins")
    fi
    # Containers' cgroups under a parent of our own, which the cleanup removes.
    COMPAT_CGROUP_PARENT=berth-test-compat-$suffix
    args+=(--cgroup-parent "/$COMPAT_CGROUP_PARENT")
    unshare --mount --propagation private --net "$bin" "${args[@]}" </dev/null >"$COMPAT_LOG" 2>&1 &
    COMPAT_PID=$!
    compat__pids+=("$COMPAT_PID")
    compat__dirs+=("$dir")
    local start=$SECONDS
    compat__await_ping "$kind" || return 1
    compat_log "$kind up: pid $COMPAT_PID, $COMPAT_HOST ($((SECONDS - start))s)"
}

# compat__await_ping <name>: waits until the daemon $COMPAT_PID answers /_ping on $COMPAT_SOCK;
# fails with the log's tail if it exits or takes longer than BERTH_COMPAT_TIMEOUT (60 s).
compat__await_ping() {
    local name=$1 timeout=${BERTH_COMPAT_TIMEOUT:-60} start=$SECONDS
    while ! compat_ping "$COMPAT_SOCK"; do
        if ! kill -0 "$COMPAT_PID" 2>/dev/null; then
            compat_log "$name exited during start-up; last lines of $COMPAT_LOG:"
            tail -20 "$COMPAT_LOG" | sed 's/^/    /' >&2
            return 1
        fi
        if ((SECONDS - start >= timeout)); then
            compat_log "$name did not answer /_ping on $COMPAT_SOCK within ${timeout}s; log tail:"
            tail -20 "$COMPAT_LOG" | sed 's/^/    /' >&2
            return 1
        fi
        sleep 0.05
    done
}

# compat_rss_kib <pid>: VmRSS of a process in KiB (empty if it is gone).
compat_rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# compat_children <pid>: direct children of a process (dockerd's containerd).
compat_children() {
    cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'
}

# compat_rss_with_children_kib <pid> <comm>: VmRSS in KiB of a daemon and of its direct
# children named <comm> (dockerd's containerd, berthd's shim launcher berth-shim), as the
# daemon's memory; a process that is gone counts 0.
compat_rss_with_children_kib() {
    local total c r
    total=$(compat_rss_kib "$1")
    total=${total:-0}
    for c in $(compat_children "$1"); do
        [[ "$(cat "/proc/$c/comm" 2>/dev/null)" == "$2" ]] || continue
        r=$(compat_rss_kib "$c")
        total=$((total + ${r:-0}))
    done
    echo "$total"
}

# --- check helpers shared by the compat scripts ----------------------------------------------
# One line per check: "ok   <name>", "FAIL <name>" (+ indented detail lines, the exact output)
# or "skip <name> (<reason>)". compat_summary prints the counts and returns 1 on any failure.

compat_pass=0 compat_fail=0 compat_skip=0
out='' rc=0   # compat_run's results
compat_failed_names=()

compat_ok() { echo "ok   $1"; compat_pass=$((compat_pass + 1)); }

# compat_bad <name> [detail lines...]
compat_bad() {
    local name=$1
    shift
    echo "FAIL $name"
    local line
    for line in "$@"; do
        while IFS= read -r l; do printf '       | %s\n' "$l"; done <<<"$line"
    done
    compat_fail=$((compat_fail + 1))
    compat_failed_names+=("$name")
}

compat_skipped() { echo "skip $1 ($2)"; compat_skip=$((compat_skip + 1)); }

# compat_expect_eq <name> <got> <want>
compat_expect_eq() {
    if [[ "$2" == "$3" ]]; then compat_ok "$1"; else compat_bad "$1" "got:  $2" "want: $3"; fi
}

# compat_expect_match <name> <got> <extended regex>
compat_expect_match() {
    if [[ "$2" =~ $3 ]]; then compat_ok "$1"; else compat_bad "$1" "got:  $2" "want: /$3/"; fi
}

# compat_expect_line <name> <text> <extended regex>: some whole line of the text matches.
compat_expect_line() {
    if grep -qxE -- "$3" <<<"$2"; then
        compat_ok "$1"
    else
        compat_bad "$1" "got:" "$2" "want a line matching: /$3/"
    fi
}

# compat_expect_contains <name> <haystack> <needle>
compat_expect_contains() {
    if [[ "$2" == *"$3"* ]]; then
        compat_ok "$1"
    else
        compat_bad "$1" "got:  $2" "want it to contain: $3"
    fi
}

# compat_expect_not_contains <name> <haystack> <needle>
compat_expect_not_contains() {
    if [[ "$2" != *"$3"* ]]; then
        compat_ok "$1"
    else
        compat_bad "$1" "got:  $2" "want it not to contain: $3"
    fi
}

# compat_run <cmd...>: runs a command (2 min limit), output (stdout+stderr) in $out, status in $rc.
compat_run() {
    out=$(timeout -k 5 120 "$@" 2>&1)
    rc=$?
}

# compat_run_ok <name> <cmd...>: the command must succeed; $out/$rc as compat_run.
compat_run_ok() {
    local name=$1
    shift
    compat_run "$@"
    if ((rc == 0)); then
        compat_ok "$name"
        return 0
    fi
    compat_bad "$name" "command: $*" "exit $rc; output:" "$out"
    return 1
}

# compat_run_fails <name> <expected text in the output, case-insensitive> <cmd...>: the command
# must fail (exit != 0) and say so in the expected words.
compat_run_fails() {
    local name=$1 want=$2
    shift 2
    compat_run "$@"
    if ((rc != 0)) && [[ "${out,,}" == *"${want,,}"* ]]; then
        compat_ok "$name"
        return 0
    fi
    compat_bad "$name" "command: $*" "exit $rc (want non-zero and output containing '$want'); output:" "$out"
    return 1
}

# compat_summary <label>: prints the counts; returns 1 on any failure.
compat_summary() {
    echo "$1: $compat_pass ok, $compat_fail failed, $compat_skip skipped (daemon: ${COMPAT_KIND:-none})"
    if ((compat_fail)); then
        local n
        for n in "${compat_failed_names[@]}"; do echo "  failed: $n"; done
        return 1
    fi
    return 0
}

# compat_skip_or_fail <reason>: a missing tool or binary is a skip (exit 77) for a developer and
# a failure in CI (CI=true).
compat_skip_or_fail() {
    if [[ "${CI:-}" == true ]]; then
        echo "FAIL: $*"
        exit 1
    fi
    echo "SKIPPED: $*"
    exit 77
}

# compat_preflight: root, and the daemon binary present (else skip).
compat_preflight() {
    [[ $EUID -eq 0 ]] || { echo "SKIPPED: needs root"; exit 77; }
    local kind=${BERTH_COMPAT_DAEMON:-berthd} tool
    for tool in curl jq unshare tar sha256sum timeout; do
        command -v "$tool" >/dev/null || compat_skip_or_fail "$tool not installed"
    done
    case "$kind" in
        berthd)
            local b=${BERTH_COMPAT_BERTHD:-$COMPAT_REPO/build/bin/berthd}
            [[ -x "$b" ]] || compat_skip_or_fail "berthd not built ($b);" \
                "BERTH_COMPAT_DAEMON=dockerd runs against Debian's dockerd" ;;
        dockerd)
            [[ -x "${BERTH_COMPAT_DOCKERD:-/usr/sbin/dockerd}" ]] ||
                compat_skip_or_fail "dockerd missing (apt-get install --no-install-recommends docker.io)" ;;
        *) echo "FAIL: BERTH_COMPAT_DAEMON=$kind (berthd or dockerd)"; exit 1 ;;
    esac
}

# compat_docker_cli: prints the path of the docker CLI 28.x (Debian's docker.io installs a 20.10
# client as /usr/bin/docker; the tests are about the 28 one). BERTH_COMPAT_DOCKER_CLI overrides.
compat_docker_cli() {
    local c v
    for c in ${BERTH_COMPAT_DOCKER_CLI:-} "$(command -v docker)" /usr/local/bin/docker /usr/bin/docker; do
        [[ -x "$c" ]] || continue
        v=$(DOCKER_HOST=unix:///nonexistent "$c" version --format '{{.Client.Version}}' 2>/dev/null)
        if [[ "$v" == 28.* ]]; then
            echo "$c"
            return 0
        fi
    done
    return 1
}
