#!/usr/bin/env bash
# bench/run: container start end to end (issue 5), berthd against `crun run` alone, Debian's
# dockerd 20.10 and podman 4.3, side by side in one hyperfine run:
#   crun run:    `crun run --bundle B id` of /bin/true in an OCI bundle of the same rootfs, with
#                the config `crun spec` writes (the floor: one runtime, no daemon, no image
#                store, no client; and a lighter container than any engine runs: no seccomp
#                filter, fewer capabilities and mounts);
#   crun run, berth's config: the same, with the OCI config berthd generates for `berth run
#                busybox` (Docker's default seccomp allowlist, capabilities, masked and read-only
#                paths, /etc/hosts, hostname and resolv.conf): the same container as `berth run`
#                starts, by crun alone;
#   berth-runtime, same: Berth's own runtime (the library berth-shim runs) on that bundle;
#   berth run:   `berth run --rm busybox true` against a private berthd (BERTH_HOST; berthd has
#                no bridge network yet, so its default is an empty network namespace: the same
#                as the others' --network none);
#   docker run:  `docker run --rm --network none busybox true` against a private dockerd;
#   podman run:  `podman run --rm --network none busybox true` with its own --root/--runroot/
#                --tmpdir under our temp directory, --cgroup-manager cgroupfs, --events-backend
#                none (the host's podman storage is never touched).
# The image is the busybox rootfs tar of tests/compat/make-rootfs-tar.sh, imported into each.
# Then N containers (default 50) started one after another with `run -d --network none busybox
# sleep 1000` by berth, dockerd and podman in turn: the time, the daemon's idle RSS (VmRSS;
# berthd's with its shim launcher, dockerd's with its containerd) before, with the N running
# and after removing them, and the per-container overhead: the sum
# of the shims' RSS and PSS (berth-shim; containerd-shim; conmon) over N, and the daemon's
# growth over N. Each side's containers are removed before the next side starts.
# Targets (issue 5): faster than `crun run` alone, 20x faster than docker, idle berthd under
# 10 MiB, under 1 MiB per container. The crun target is printed twice: against crun with its own
# spec, and against crun starting the same container (berth's config).
#
# Then crun run and berth run again, interleaved (--rounds rounds of 10 runs each, the order
# alternating; their times pooled): the crun target is printed from both.
#
#   sudo bench/run/run.sh [--runs N] [--warmup N] [--rounds N] [--containers N] [--out DIR]
#                         [--no-dockerd] [--no-podman] [--no-many]
# Environment: BENCH_RUNS (default 20), BENCH_WARMUP (default 3), BENCH_ROUNDS (default 6; 0: no
# interleaved rounds), BENCH_CONTAINERS (default 50),
# BENCH_OUT, BERTH_COMPAT_BERTHD (default build/bin/berthd; berth-shim must be next to it),
# BERTH_CLI (default build/bin/berth), BERTH_COMPAT_DOCKER_CLI, BERTH_COMPAT_DOCKERD.
# A side that is missing or does not run containers is skipped with a message. Needs hyperfine,
# jq, crun, python3; dockerd needs docker.io, podman the Debian package podman (both
# --no-install-recommends; see the README).
#
# Environment of the run: the whole script runs in a private mount namespace (under
# bench/run/reaper.py, a child subreaper, so that exited shims are reaped even where PID 1 does
# not). crun 1.8 refuses a hybrid cgroup host, so on one /sys/fs/cgroup/unified is unmounted
# in that namespace and a private tmpfs put on the bare directory: every contender sees the same
# pure cgroup v1 view, and what a runtime still writes there (crun writes its "0::" path from
# /proc/self/cgroup into that directory) goes to our tmpfs, not to the host's /sys/fs/cgroup.
# The daemons run through tests/compat/lib/daemon.sh (own roots, sockets, mount and network
# namespaces); crun and podman put their cgroups under one /berth-test-bench-run-* parent;
# everything is removed on exit, Ctrl-C included.
# Commands are kept as strings (hyperfine takes them so) and split on purpose; no path has a space.
# shellcheck disable=SC2086
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../../scripts/common.sh
source "$here/../../scripts/common.sh"

orig_args=("$@")
runs=${BENCH_RUNS:-20}
warmup=${BENCH_WARMUP:-3}
rounds=${BENCH_ROUNDS:-6}
n_many=${BENCH_CONTAINERS:-50}
out_dir=${BENCH_OUT:-}
with_dockerd=1 with_podman=1 with_many=1
while (($#)); do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --containers) n_many=$2; shift 2 ;;
        --out) out_dir=$2; shift 2 ;;
        --no-dockerd) with_dockerd=0; shift ;;
        --no-podman) with_podman=0; shift ;;
        --no-many) with_many=0; shift ;;
        -h | --help) berth_usage; exit 0 ;;
        *) berth_die "unknown argument $1 (see --help)" ;;
    esac
done
berth_require_root
berth_require_tools hyperfine jq crun tar curl unshare mountpoint
[[ -x /usr/bin/python3 ]] || berth_die "/usr/bin/python3 missing (runs bench/run/reaper.py)"
[[ -z "$out_dir" || "$out_dir" == /* ]] || out_dir=$PWD/$out_dir

# --- one private mount namespace, under a subreaper, for the whole run ----------------------
if [[ -z "${BERTH_BENCH_RUN_IN_NS:-}" ]]; then
    export BERTH_BENCH_RUN_IN_NS=1
    exec unshare --mount --propagation private /usr/bin/python3 "$here/reaper.py" \
        bash "${BASH_SOURCE[0]}" "${orig_args[@]}"
fi
# shellcheck source=SCRIPTDIR/../../tests/compat/lib/daemon.sh
source "$BERTH_REPO/tests/compat/lib/daemon.sh"

env_note="cgroup v1"
unified_tmpfs=0
if mountpoint -q /sys/fs/cgroup/unified; then
    # Only in this namespace. Unmounted, so that no cgroup2 mount is left in mountinfo (berth
    # reads it) and statfs() shows no cgroup2 there (crun looks); then a tmpfs of our own on
    # the directory, so that what crun still writes there (its "0::" path from
    # /proc/self/cgroup) does not land in the host's /sys/fs/cgroup tmpfs, hidden under its
    # cgroup2 mount.
    umount /sys/fs/cgroup/unified
    mount -t tmpfs -o size=4m,mode=755 berth-bench-run /sys/fs/cgroup/unified
    unified_tmpfs=1
    env_note="cgroup v1 (hybrid host: /sys/fs/cgroup/unified unmounted for all in a private"
    env_note+=" mount namespace)"
elif [[ "$(stat -fc %T /sys/fs/cgroup)" == cgroup2fs ]]; then
    env_note="cgroup v2"
fi

tmp=$(mktemp -d /tmp/berth-bench-run.XXXXXX)
# Runtime state on a tmpfs for everyone, where a standard install keeps it (/run/crun,
# /run/containers, /var/run/docker, /run/berth: /run is a tmpfs there; on some machines, this
# one included, it is on the disk): crun's and berth-runtime's state, podman's runroot and the
# daemons' exec roots (COMPAT_EXEC_TMPFS). In this script's mount namespace only.
run_tmpfs=$tmp/run
mkdir -p "$run_tmpfs"
mount -t tmpfs -o mode=0755,size=512m berth-bench-run "$run_tmpfs"
export COMPAT_EXEC_TMPFS=1
crun_state=$(mktemp -d "$run_tmpfs/crun.XXXXXX")
cg_parent=berth-test-bench-run-${tmp##*.}
crun_id=berth-test-bench-run-crun
declare -A cli pid dir exec_root
sides=()   # those that run containers: crun berth dockerd podman
podman_cmd=""

# Removes what the benchmark made; the daemons themselves are stopped by daemon.sh's trap after.
compat_cleanup_hook() {
    local ids
    if [[ -n "${cli[berth]:-}" ]]; then
        ids=$(timeout 30 ${cli[berth]} ps -aq 2>/dev/null) || true
        [[ -z "$ids" ]] || timeout 120 ${cli[berth]} rm -f $ids >/dev/null 2>&1 || true
    fi
    if [[ -n "${cli[dockerd]:-}" ]]; then
        ids=$(timeout 30 ${cli[dockerd]} ps -aq 2>/dev/null) || true
        [[ -z "$ids" ]] || timeout 120 ${cli[dockerd]} rm -f $ids >/dev/null 2>&1 || true
    fi
    if [[ -n "$podman_cmd" ]]; then
        timeout 120 $podman_cmd rm -fa -t 0 >/dev/null 2>&1 || true
    fi
    crun --root "$crun_state" delete --force "$crun_id" >/dev/null 2>&1 || true
    if [[ -n "${runtime_state:-}" ]]; then
        "$runtime_bin" --root "$runtime_state" delete --force "$crun_id" >/dev/null 2>&1 || true
        rm -rf "$runtime_state"
    fi
    local p
    for p in $(compat__pids_mentioning "$tmp"); do   # conmon or a container podman lost
        kill -KILL "$p" 2>/dev/null || true
    done
    compat__unmount_under "$tmp"   # podman's overlay and shm mounts
    # Plain files in our tmpfs, not cgroups: gone with it (before the cgroups are removed, so
    # that the glob there finds only real ones).
    if ((unified_tmpfs)); then
        umount /sys/fs/cgroup/unified && unified_tmpfs=0
    fi
    compat__remove_cgroups "$cg_parent"
    rm -rf "$tmp" "$crun_state"
}
compat_daemon_init

# --- the image and the bundle -------------------------------------------------------------------
bash "$BERTH_REPO/tests/compat/make-rootfs-tar.sh" "$tmp/rootfs.tar"
mkdir -p "$tmp/rootfs"
tar -C "$tmp/rootfs" -xf "$tmp/rootfs.tar"
(cd "$tmp" && crun spec)
for prog in true false; do
    mkdir -p "$tmp/crun-$prog"
    jq --arg root "$tmp/rootfs" --arg prog "$prog" --arg cg "/$cg_parent/crun" \
        '.root.path = $root | .process.args = [$prog] | .process.terminal = false
         | .linux.cgroupsPath = $cg' "$tmp/config.json" >"$tmp/crun-$prog/config.json"
done

# --- the contenders -------------------------------------------------------------------------------
declare -A cmd_true cmd_false label
label=([crun]="crun run" [crun_same]="crun run, berth's config"
       [runtime]="berth-runtime, same" [berth]="berth run" [dockerd]="docker run"
       [podman]="podman run")
# has <side>: whether that contender is (still) in the run.
has() { [[ " ${sides[*]} " == *" $1 "* ]]; }
cmd_true[crun]="crun --root $crun_state run --bundle $tmp/crun-true $crun_id"
cmd_false[crun]="crun --root $crun_state run --bundle $tmp/crun-false $crun_id"
sides+=(crun)

berthd_bin=${BERTH_COMPAT_BERTHD:-$BERTH_BUILD_DIR/bin/berthd}
berth_bin=${BERTH_CLI:-$BERTH_BUILD_DIR/bin/berth}
declare -A rss_start rss_runs
or0() { local v; v=$("$@" || true); echo "${v:-0}"; }   # a figure of a process that is gone: 0
# daemon_rss_kib <side>: VmRSS of the daemon; dockerd's includes its containerd child,
# berthd's its shim launcher (the berth-shim child that forks the shims) and the launcher's
# spare (the next shim, forked ahead: the launcher's child that is not a container's shim yet).
daemon_rss_kib() {
    local p=${pid[$1]:-} total l c
    [[ -n "$p" ]] || { echo 0; return; }
    case $1 in
        berth)
            total=$(compat_rss_with_children_kib "$p" berth-shim)
            for l in $(compat_children "$p"); do
                [[ "$(cat "/proc/$l/comm" 2>/dev/null)" == berth-shim ]] || continue
                for c in $(compat_children "$l"); do
                    [[ "$(tr '\0' ' ' <"/proc/$c/cmdline" 2>/dev/null)" == "berth-shim (spare) "* ]] &&
                        total=$((total + $(or0 compat_rss_kib "$c")))
                done
            done
            echo "$total" ;;
        dockerd) compat_rss_with_children_kib "$p" containerd ;;
        *) or0 compat_rss_kib "$p" ;;
    esac
}
if [[ ! -x "$berthd_bin" || ! -x "$berth_bin" ]]; then
    echo "bench: berthd or the berth CLI not built ($berthd_bin, $berth_bin): skipped"
elif [[ ! -x "$(dirname "$berthd_bin")/berth-shim" ]]; then
    echo "bench: no berth-shim next to $berthd_bin: berth skipped"
elif BERTH_COMPAT_BERTHD=$berthd_bin compat_daemon_start berthd; then
    pid[berth]=$COMPAT_PID dir[berth]=$COMPAT_DIR exec_root[berth]=$COMPAT_EXEC_ROOT
    export BERTH_HOST=$COMPAT_HOST   # what `berth` talks to, as a user would set it
    cli[berth]=$berth_bin
    sleep 4   # idle: see the quiet 4 s below
    rss_start[berth]=$(daemon_rss_kib berth)
    if ${cli[berth]} import "$tmp/rootfs.tar" busybox:latest >/dev/null; then
        cmd_true[berth]="$berth_bin run --rm busybox true"
        cmd_false[berth]="$berth_bin run --rm busybox false"
        sides+=(berth)
    else
        echo "bench: berth import of the busybox rootfs failed: berth skipped"
    fi
else
    echo "bench: berthd did not start: skipped"
fi

# Like for like: the OCI config berthd generates for this image (Docker's default seccomp
# allowlist, capabilities, masked paths, /etc files: what `berth run` really starts), given to
# crun and to berth-runtime on the same rootfs. crun's own `crun spec` (the row above) has no
# seccomp filter, fewer mounts and capabilities: a lighter container than any of the engines run.
if has berth; then
    same_id=$(${cli[berth]} run -d busybox sleep 1000 </dev/null) || same_id=""
    # The bundle and the /etc files are in the container's exec directory.
    same_bundle=${exec_root[berth]}/containers/$same_id
    if [[ -n "$same_id" && -f "$same_bundle/config.json" ]]; then
        mkdir -p "$tmp/same-etc"
        cp "$same_bundle/hosts" "$same_bundle/hostname" "$same_bundle/resolv.conf" "$tmp/same-etc/"
        for prog in true false; do
            mkdir -p "$tmp/same-$prog"
            # crun 1.8 knows the spec up to 1.0.x by number (nothing used here is newer).
            # The network namespace berthd made for that container goes with it: these make
            # their own, as crun's own spec does.
            jq --arg root "$tmp/rootfs" --arg prog "$prog" --arg cg "/$cg_parent/same" \
               --arg etc "$tmp/same-etc" \
                '.ociVersion = "1.0.2" | .root.path = $root | .process.args = [$prog]
                 | .process.terminal = false | .linux.cgroupsPath = $cg
                 | .linux.namespaces |= map(if .type == "network" then del(.path) else . end)
                 | .mounts |= map(if .type == "bind" and (.destination | startswith("/etc/"))
                                  then .source = $etc + "/" + (.destination | ltrimstr("/etc/"))
                                  else . end)' \
                "$same_bundle/config.json" >"$tmp/same-$prog/config.json"
        done
        runtime_bin=$(dirname "$berthd_bin")/berth-runtime
        runtime_state=$(mktemp -d "$run_tmpfs/berth-runtime.XXXXXX")
        cmd_true[crun_same]="crun --root $crun_state run --bundle $tmp/same-true $crun_id"
        cmd_false[crun_same]="crun --root $crun_state run --bundle $tmp/same-false $crun_id"
        sides+=(crun_same)
        if [[ -x "$runtime_bin" ]]; then
            cmd_true[runtime]="$runtime_bin --root $runtime_state run --bundle $tmp/same-true $crun_id"
            cmd_false[runtime]="$runtime_bin --root $runtime_state run --bundle $tmp/same-false $crun_id"
            sides+=(runtime)
        fi
    else
        echo "bench: no config.json of a berth container: no like-for-like rows"
    fi
    [[ -z "$same_id" ]] || ${cli[berth]} rm -f "$same_id" >/dev/null 2>&1 || true
fi

docker=$(compat_docker_cli || command -v docker || true)
if ((with_dockerd)); then
    if [[ -z "$docker" ]]; then
        echo "bench: no docker CLI: dockerd skipped"
    elif [[ ! -x "${BERTH_COMPAT_DOCKERD:-/usr/sbin/dockerd}" ]]; then
        echo "bench: dockerd missing (apt-get install --no-install-recommends docker.io): skipped"
    elif compat_daemon_start dockerd; then
        pid[dockerd]=$COMPAT_PID dir[dockerd]=$COMPAT_DIR
        cli[dockerd]="$docker -H $COMPAT_HOST"
        sleep 1
        if ${cli[dockerd]} import "$tmp/rootfs.tar" busybox:latest >/dev/null; then
            cmd_true[dockerd]="${cli[dockerd]} run --rm --network none busybox true"
            cmd_false[dockerd]="${cli[dockerd]} run --rm --network none busybox false"
            sides+=(dockerd)
        else
            echo "bench: docker import into dockerd failed: dockerd skipped"
        fi
    else
        echo "bench: dockerd did not start: skipped"
    fi
fi

if ((with_podman)); then
    if ! command -v podman >/dev/null; then
        echo "bench: podman missing (apt-get install --no-install-recommends podman): skipped"
    else
        pd=$tmp/podman
        mkdir -p "$pd/root" "$run_tmpfs/podman" "$pd/tmpdir" "$pd/net"
        # Our own containers.conf, so that the host's is not read. Its rlimits: podman gives a
        # root container nofile/nproc limits above ours, which fails (EPERM) where root lacks
        # CAP_SYS_RESOURCE (sandboxes); the current limits are what the other engines pass on.
        # podman itself lowers its nproc limit to kernel.pid_max, so the container's may not be
        # above that either.
        lim() {  # lim <value or unlimited> <cap>
            if [[ "$1" == unlimited ]] || (($1 > $2)); then echo "$2"; else echo "$1"; fi
        }
        pid_max=$(cat /proc/sys/kernel/pid_max) nr_open=$(cat /proc/sys/fs/nr_open)
        printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' \
            "$(lim "$(ulimit -Sn)" "$nr_open")" "$(lim "$(ulimit -Hn)" "$nr_open")" \
            "$(lim "$(ulimit -Su)" "$pid_max")" "$(lim "$(ulimit -Hu)" "$pid_max")" \
            >"$pd/containers.conf"
        export CONTAINERS_CONF=$pd/containers.conf
        podman_cmd="podman --root $pd/root --runroot $run_tmpfs/podman --tmpdir $pd/tmpdir"
        podman_cmd+=" --network-config-dir $pd/net --cgroup-manager cgroupfs --events-backend none"
        pr="$podman_cmd run --cgroup-parent /$cg_parent/podman"
        if $podman_cmd import -q "$tmp/rootfs.tar" busybox:latest >/dev/null; then
            cli[podman]="$podman_cmd"
            cmd_true[podman]="$pr --rm --network none busybox true"
            cmd_false[podman]="$pr --rm --network none busybox false"
            sides+=(podman)
        else
            echo "bench: podman import failed: podman skipped"
        fi
    fi
fi

# A contender is measured only if it really runs the container: true must exit 0, false 1 (a
# placeholder that exits 0 for everything fails the second check).
ok=()
for s in "${sides[@]}"; do
    if ! err=$(timeout 60 ${cmd_true[$s]} 2>&1 </dev/null); then
        echo "bench: $s: run of true failed: skipped"
        tail -5 <<<"$err" | sed 's/^/    /'
        continue
    fi
    rc=0
    timeout 60 ${cmd_false[$s]} >/dev/null 2>&1 </dev/null || rc=$?
    if ((rc != 1)); then
        echo "bench: $s: run of false exited $rc, expected 1: skipped"
        continue
    fi
    ok+=("$s")
done
sides=("${ok[@]}")
has berth || echo "bench: warning: berth is not measured (no berth ratios)"

echo
echo "bench/run: $(uname -r), $(nproc) CPUs, $env_note"
echo "  crun: $(crun --version | head -1)"
has berth && echo "  berth: $berthd_bin, CLI $berth_bin"
has dockerd &&
    echo "  dockerd: $(${cli[dockerd]} version --format '{{.Server.Version}}'), CLI $docker"
has podman && echo "  podman: $(podman --version | awk '{print $3}')" \
    "(runtime $($podman_cmd info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null))"
echo "  $runs runs after $warmup warm-up runs each; image: busybox rootfs, /bin/true, no terminal"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "  load average at start: $load"
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "  warning: the machine is busy; medians will be noisy (compare min times, or re-run" \
         "when idle)"
fi

# --- run --rm true: one hyperfine run -----------------------------------------------------------
style=()
[[ -t 1 ]] || style=(--style basic)
cmds=()
for s in crun crun_same runtime berth dockerd podman; do
    has "$s" && cmds+=(-n "${label[$s]}" "${cmd_true[$s]}")
done
echo
hyperfine -N "${style[@]}" --warmup "$warmup" --runs "$runs" --export-json "$tmp/hyperfine.json" \
    "${cmds[@]}" </dev/null
# crun run and berth run once more, interleaved: short rounds in alternating order, their times
# pooled. A single hyperfine run measures one command after the other, and this VM's speed
# drifts by tens of percent within minutes: whichever command a slow phase hits looks slower.
if ((rounds > 0)) && has crun && has berth; then
    echo
    echo "bench: crun run and berth run interleaved: $rounds rounds of 10 runs, order alternating"
    for ((r = 0; r < rounds; r++)); do
        pair=(-n "${label[crun]}" "${cmd_true[crun]}" -n "${label[berth]}" "${cmd_true[berth]}")
        ((r % 2)) && pair=(-n "${label[berth]}" "${cmd_true[berth]}" -n "${label[crun]}" "${cmd_true[crun]}")
        hyperfine -N --style none --warmup 2 --runs 10 --export-json "$tmp/round-$r.json" \
            "${pair[@]}" </dev/null
    done
fi
# Idle means idle: berthd drops the code pages its requests ran 3 s after its last connection,
# and the shims theirs 2 s after their last event (common/resident.hpp); every side is measured
# after the same quiet 4 s.
sleep 4
has berth && rss_runs[berth]=$(daemon_rss_kib berth)

# --- N containers at once -----------------------------------------------------------------------
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
# shim_pids <side>: the per-container processes of that side (their command lines name its
# directory; comm is cut to 15 characters: containerd-shim-runc-v2 shows as containerd-shim).
shim_pids() {
    local comm where p
    case $1 in
        berth) comm=berth-shim where=${dir[berth]} ;;
        dockerd) comm=containerd-shim where=${dir[dockerd]} ;;
        podman) comm=conmon where=$tmp/podman ;;
    esac
    for p in $(compat__pids_mentioning "$where"); do
        [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == "$comm" ]] && echo "$p"
    done
    return 0
}
now() { date +%s.%N; }
declare -A m_start m_rm m_before m_with m_after m_n m_rss m_pss m_running
many_sides=()
many() {  # many <side>
    local s=$1 c=${cli[$1]} run i ids=() id t0 t1 p rss=0 pss=0 n=0 rm_args
    run="$c run"
    [[ $s == podman ]] && run+=" --cgroup-parent /$cg_parent/podman"
    m_before[$s]=$(daemon_rss_kib "$s")
    t0=$(now)
    for ((i = 0; i < n_many; i++)); do
        if ! id=$($run -d --network none busybox sleep 1000 </dev/null); then
            echo "bench: $s: run -d number $((i + 1)) failed: no $n_many-container figures"
            [[ ${#ids[@]} -eq 0 ]] || $c rm -f "${ids[@]}" >/dev/null 2>&1 || true
            return 1
        fi
        ids+=("$id")
    done
    t1=$(now)
    m_start[$s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    sleep 4
    m_with[$s]=$(daemon_rss_kib "$s")
    for p in $(shim_pids "$s"); do
        rss=$((rss + $(or0 compat_rss_kib "$p")))
        pss=$((pss + $(or0 pss_kib "$p")))
        n=$((n + 1))
    done
    m_n[$s]=$n m_rss[$s]=$rss m_pss[$s]=$pss
    m_running[$s]=$($c ps -q | wc -l)
    t0=$(now)
    # podman's rm -f stops with SIGTERM and a 10 s grace first (sleep as PID 1 ignores it);
    # -t 0 kills at once, as docker's and berth's rm -f do.
    rm_args=(rm -f)
    [[ $s == podman ]] && rm_args+=(-t 0)
    $c "${rm_args[@]}" "${ids[@]}" >/dev/null
    t1=$(now)
    m_rm[$s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    sleep 4
    m_after[$s]=$(daemon_rss_kib "$s")
    many_sides+=("$s")
}
if ((with_many)); then
    for s in berth dockerd podman; do
        has "$s" || continue
        echo
        echo "bench: $s: $n_many x run -d --network none busybox sleep 1000 ..."
        many "$s" || true
    done
fi

# --- tables -------------------------------------------------------------------------------------
mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }
median_of() {
    jq -r --arg c "$1" '.results[] | select(.command == $c) | .median' "$tmp/hyperfine.json"
}
report() {
    local cmd mean median stddev min s row
    local crun_med docker_med
    crun_med=$(median_of "crun run") docker_med=$(median_of "docker run")
    echo
    echo "run --rm busybox true (ms)      mean   median   stddev      min  x crun  x docker"
    jq -r '.results[] | [.command, .mean, .median, .stddev, .min] | @tsv' "$tmp/hyperfine.json" |
        while IFS=$'\t' read -r cmd mean median stddev min; do
            awk -v c="$cmd" -v a="$mean" -v m="$median" -v s="$stddev" -v l="$min" \
                -v cr="$crun_med" -v dk="$docker_med" 'BEGIN {
                    vc = cr == "" ? "-" : sprintf("%.2f", m / cr)
                    vd = dk == "" ? "-" : sprintf("%.3f", m / dk)
                    printf "  %-26s %8.1f %8.1f %8.1f %8.1f %7s %9s\n", c, a * 1000, m * 1000,
                           s * 1000, l * 1000, vc, vd }'
        done
    echo "  (x crun, x docker: ratio of medians; < 1 means faster than crun run / docker run)"
    local b
    b=$(median_of "berth run")
    if [[ -n "$b" && -n "$crun_med" ]]; then
        awk -v b="$b" -v c="$crun_med" 'BEGIN {
            printf "  target: berth run faster than crun run alone (crun spec'"'"'s config, no" \
                   " seccomp): %.2fx (%s)\n", b / c, (b < c ? "met" : "MISSED") }'
    fi
    if ((rounds > 0)) && [[ -f "$tmp/round-0.json" ]]; then
        local pooled_c pooled_b
        pooled() {
            jq -s --arg c "$1" '[.[].results[] | select(.command == $c) | .times[]] | sort
                | if length == 0 then empty else .[length / 2 | floor] end' "$tmp"/round-*.json
        }
        pooled_c=$(pooled "crun run") pooled_b=$(pooled "berth run")
        if [[ -n "$pooled_c" && -n "$pooled_b" ]]; then
            awk -v b="$pooled_b" -v c="$pooled_c" -v r="$rounds" 'BEGIN {
                printf "  interleaved (%d rounds of 10, alternating; pooled medians): crun run %.1f ms," \
                       " berth run %.1f ms\n", r, c * 1000, b * 1000
                printf "  target, interleaved: berth run faster than crun run alone: %.2fx (%s)\n",
                       b / c, (b < c ? "met" : "MISSED") }'
        fi
    fi
    local same
    same=$(median_of "crun run, berth's config")
    if [[ -n "$b" && -n "$same" ]]; then
        awk -v b="$b" -v c="$same" 'BEGIN {
            printf "  target: berth run faster than crun run of the same container (berth'"'"'s" \
                   " config): %.2fx (%s)\n", b / c, (b < c ? "met" : "MISSED") }'
    fi
    if [[ -n "$b" && -n "$docker_med" ]]; then
        awk -v b="$b" -v d="$docker_med" 'BEGIN {
            printf "  target: 20x faster than docker run: %.1fx faster (%s)\n", d / b,
                   (d / b >= 20 ? "met" : "MISSED") }'
    fi
    if [[ -n "$b" && -n "${rss_start[berth]:-}" ]]; then
        printf '  idle berthd + shim launcher and spare RSS (target < 10 MiB): %s MiB after start, %s MiB after the runs\n' \
            "$(mib "${rss_start[berth]}")" "$(mib "${rss_runs[berth]:-}")"
    fi
    ((${#many_sides[@]})) || return 0
    echo
    echo "$n_many x run -d --network none busybox sleep 1000, one after another"
    printf '  %-25s %6s %6s %23s %36s\n' "" start "rm -f" "daemon RSS MiB (idle)" \
        "per container MiB"
    printf '  %-25s %6s %6s %7s %7s %7s %5s %9s %9s %8s\n' "" "all s" "all s" before \
        "with $n_many" after shims "shim RSS" "shim PSS" daemon+
    for s in "${many_sides[@]}"; do
        case $s in
            berth) row="berthd, berth-shim" ;;
            dockerd) row="dockerd, containerd-shim" ;;
            podman) row="podman, conmon" ;;
        esac
        awk -v l="$row" -v st="${m_start[$s]}" -v rm="${m_rm[$s]}" -v b="${m_before[$s]}" \
            -v w="${m_with[$s]}" -v a="${m_after[$s]}" -v n="${m_n[$s]}" -v r="${m_rss[$s]}" \
            -v p="${m_pss[$s]}" -v N="$n_many" -v nd="$([[ $s == podman ]] && echo 1 || echo 0)" \
            'BEGIN {
                if (nd) printf "  %-25s %6.2f %6.2f %7s %7s %7s %5d %9.2f %9.2f %8s\n", l, st, rm,
                              "-", "-", "-", n, r / 1024 / N, p / 1024 / N, "-"
                else printf "  %-25s %6.2f %6.2f %7.1f %7.1f %7.1f %5d %9.2f %9.2f %8.2f\n", l, st,
                            rm, b / 1024, w / 1024, a / 1024, n, r / 1024 / N, p / 1024 / N,
                            (w - b) / 1024 / N }'
    done
    echo "  (berthd's daemon RSS includes its shim launcher and spare, dockerd's its containerd; daemon+ = the daemon's growth / $n_many;"
    echo "   shim RSS/PSS = the sum over the shims / $n_many; podman has no daemon)"
    for s in "${many_sides[@]}"; do
        [[ "${m_running[$s]}" == "$n_many" && "${m_n[$s]}" == "$n_many" ]] ||
            echo "  warning: $s: ${m_running[$s]} containers running, ${m_n[$s]} shims found" \
                 "(expected $n_many each)"
    done
    if [[ -n "${m_with[berth]:-}" ]]; then
        awk -v b="${m_before[berth]}" -v w="${m_with[berth]}" -v r="${m_rss[berth]}" \
            -v p="${m_pss[berth]}" -v N="$n_many" 'BEGIN {
            g = (w - b) / 1024 / N; if (g < 0) g = 0
            t = r / 1024 / N + g
            printf "  target: under 1 MiB per container: shim RSS + daemon growth = %.2f MiB", t
            printf " (%s);", (t < 1 ? "met" : "MISSED")
            printf " with PSS %.2f MiB\n", p / 1024 / N + g
            printf "  target: idle berthd under 10 MiB: %.1f MiB before,", b / 1024
            printf " %.1f MiB with %d", w / 1024, N
            printf " running (%s)\n", (b < 10240 ? "met" : "MISSED") }'
    fi
}
report | tee "$tmp/summary.txt"

if [[ -n "$out_dir" ]]; then
    mkdir -p "$out_dir"
    cp "$tmp/hyperfine.json" "$tmp/summary.txt" "$out_dir/"
    echo "results: $out_dir/hyperfine.json, $out_dir/summary.txt"
fi
