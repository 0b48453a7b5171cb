#!/usr/bin/env bash
# bench/runtime: berth-runtime against crun and runc, side by side in one hyperfine run.
#   - run:       `<rt> run --bundle B <id>` = create + start + wait + delete of /bin/true, one
#                process (what the ARCHITECTURE.md target is about);
#   - isolated:  the same `run` with a 50 ms pause before each (a single container start; see
#                the comment at that step for why it differs);
#   - lifecycle: `<rt> create`, `<rt> start`, `<rt> delete --force` as three processes, the way
#                containerd's shim drives a runtime (delete --force because nobody reaps /bin/true
#                for us between start and delete; it has normally exited by then).
# Then peak RSS per runtime, and the ratios berth/crun and berth/runc (medians).
#
#   sudo bench/runtime/run.sh [--runs N] [--warmup N] [--no-lifecycle] [--out DIR]
# Environment: BERTH_RUNTIME (default build/bin/berth-runtime; skipped with a message when it is
# missing or not yet a working runtime), BENCH_RUNS, BENCH_WARMUP, BENCH_OUT.
#
# Fairness: crun 1.8 refuses a hybrid cgroup host ("cgroups in hybrid mode not supported"), so
# the whole benchmark (every runtime, not only crun) runs in one private mount namespace where
# /sys/fs/cgroup/unified is unmounted: the same pure cgroup-v1 view for all, entered once, so no
# per-run unshare cost is measured. The host's mounts are not touched.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../../scripts/common.sh"

runs=${BENCH_RUNS:-100}
warmup=${BENCH_WARMUP:-10}
out_dir=${BENCH_OUT:-}
lifecycle=1
while (($#)); do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --out) out_dir=$2; shift 2 ;;
        --no-lifecycle) lifecycle=0; shift ;;
        -h | --help) berth_usage; exit 0 ;;
        *) berth_die "unknown argument $1 (see --help)" ;;
    esac
done
berth_require_root
berth_require_tools hyperfine jq /usr/bin/time unshare busybox

# --- one private mount namespace for the whole run -----------------------------------------
if [[ -z "${BERTH_BENCH_IN_NS:-}" ]]; then
    export BERTH_BENCH_IN_NS=1
    args=(--runs "$runs" --warmup "$warmup")
    [[ -n "$out_dir" ]] && args+=(--out "$out_dir")
    ((lifecycle)) || args+=(--no-lifecycle)
    exec unshare --mount --propagation private bash "${BASH_SOURCE[0]}" "${args[@]}"
fi
env_note="cgroup v1"
if mountpoint -q /sys/fs/cgroup/unified; then
    umount /sys/fs/cgroup/unified   # only in this namespace
    env_note="cgroup v1 (hybrid host; /sys/fs/cgroup/unified unmounted in a private mount namespace)"
elif [[ "$(stat -fc %T /sys/fs/cgroup)" == cgroup2fs ]]; then
    env_note="cgroup v2"
fi

# --- runtimes ----------------------------------------------------------------------------
names=() bins=()
add_runtime() {  # add_runtime <name> <binary or empty>
    if [[ -n "$2" && -x "$2" ]]; then
        names+=("$1")
        bins+=("$(realpath "$2")")
    else
        echo "bench: $1 not found${2:+ at $2}: skipped"
    fi
}
add_runtime berth "${BERTH_RUNTIME:-$BERTH_BUILD_DIR/bin/berth-runtime}"
add_runtime crun "$(command -v crun || true)"
add_runtime runc "$(command -v runc || true)"

tmp=$(mktemp -d /tmp/berth-bench.XXXXXX)
# State directories on tmpfs, where every runtime keeps them by default (/run/runc,
# /run/crun, /run/berth-runtime): a disk-backed --root would time the disk, not the runtime.
state=$(mktemp -d /run/berth-bench-state.XXXXXX)
cleanup() {
    local i
    for i in "${!bins[@]}"; do
        "${bins[$i]}" --root "$state/state-${names[$i]}" delete --force "berth-test-bench-${names[$i]}" \
            >/dev/null 2>&1 || true
    done
    # Containers' cgroups (named after their ids) that a failing runtime left behind.
    find /sys/fs/cgroup -mindepth 2 -maxdepth 3 -type d -name 'berth-test-bench-*' \
        -exec rmdir {} + 2>/dev/null || true
    rm -rf "$tmp" "$state"
}
trap cleanup EXIT

# --- bundles: one busybox rootfs, /bin/true and /bin/false configs from `runc spec` --------------
sh "$BERTH_REPO/tests/support/make-busybox-rootfs.sh" "$tmp/rootfs"
(cd "$tmp" && runc spec)
for prog in true false; do
    mkdir -p "$tmp/$prog"
    jq --arg root "$tmp/rootfs" --arg prog "/bin/$prog" \
        '.root.path = $root | .process.args = [$prog] | .process.terminal = false' \
        "$tmp/config.json" >"$tmp/$prog/config.json"
done

# A runtime is measured only if it really runs containers: /bin/true must exit 0 and /bin/false 1
# (a placeholder binary that exits 0 for everything fails the second check).
ok_names=() ok_bins=()
for i in "${!bins[@]}"; do
    n=${names[$i]} b=${bins[$i]}
    id=berth-test-bench-$n
    if ! err=$("$b" --root "$state/state-$n" run --bundle "$tmp/true" "$id" 2>&1 </dev/null); then
        echo "bench: $n: run of /bin/true failed: skipped"
        sed 's/^/    /' <<<"$err" | head -5
        continue
    fi
    rc=0
    "$b" --root "$state/state-$n" run --bundle "$tmp/false" "$id" >/dev/null 2>&1 </dev/null || rc=$?
    if ((rc != 1)); then
        echo "bench: $n: run of /bin/false exited $rc, expected 1 (not a working runtime yet): skipped"
        "$b" --root "$state/state-$n" delete --force "$id" >/dev/null 2>&1 || true
        continue
    fi
    ok_names+=("$n")
    ok_bins+=("$b")
done
((${#ok_names[@]})) || berth_die "no runtime to measure"

echo
echo "bench/runtime: $(uname -r), $(nproc) CPUs, $env_note"
for i in "${!ok_names[@]}"; do
    echo "  ${ok_names[$i]}: ${ok_bins[$i]} ($("${ok_bins[$i]}" --version 2>/dev/null | head -1))"
done
echo "  $runs runs after $warmup warm-up runs each; container: busybox /bin/true, no terminal"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "  load average at start: $load"
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "  warning: the machine is busy; medians will be noisy (compare min times, or re-run when idle)"
fi

# --- hyperfine -----------------------------------------------------------------------------
cmds=()
for i in "${!ok_names[@]}"; do
    n=${ok_names[$i]} b=${ok_bins[$i]}
    r="$b --root $state/state-$n"
    # A fixed id is fine: each run deletes its container before the next starts.
    cmds+=(-n "$n run" "$r run --bundle $tmp/true berth-test-bench-$n")
done
if ((lifecycle)); then
    for i in "${!ok_names[@]}"; do
        n=${ok_names[$i]} b=${ok_bins[$i]}
        r="$b --root $state/state-$n"
        id=berth-test-bench-$n
        cmds+=(-n "$n lifecycle"
               "sh -c '$r create --bundle $tmp/true $id && $r start $id && $r delete --force $id'")
    done
fi
style=()
[[ -t 1 ]] || style=(--style basic)
echo
hyperfine -N "${style[@]}" --warmup "$warmup" --runs "$runs" \
    --export-json "$tmp/hyperfine-burst.json" --export-markdown "$tmp/hyperfine.md" "${cmds[@]}" </dev/null

# --- isolated starts: `run` again, with a pause before each. Back-to-back runs keep the kernel's
# cgroup_threadgroup_rwsem in its slow mode, so a runtime that moves the container into its
# cgroup from outside pays an RCU grace period (10-15 ms here) only when the lock went idle:
# a single `docker run` does; a benchmark loop mostly doesn't. This group shows that case.
iso=()
for i in "${!ok_names[@]}"; do
    n=${ok_names[$i]} b=${ok_bins[$i]}
    iso+=(-n "$n isolated" "$b --root $state/state-$n run --bundle $tmp/true berth-test-bench-$n")
done
echo
hyperfine -N "${style[@]}" --warmup 2 --runs "$runs" --prepare 'sleep 0.05' \
    --export-json "$tmp/hyperfine-isolated.json" "${iso[@]}" </dev/null
jq -s '{results: (.[0].results + .[1].results)}' "$tmp/hyperfine-burst.json" \
    "$tmp/hyperfine-isolated.json" >"$tmp/hyperfine.json"

# --- peak RSS: ru_maxrss of the runtime and the processes it waited for (runc's init, /bin/true),
# i.e. the largest single process of the run, from GNU time; the highest of 10 runs.
declare -A rss
for i in "${!ok_names[@]}"; do
    n=${ok_names[$i]} b=${ok_bins[$i]}
    max=0
    for _ in $(seq 10); do
        kib=$(/usr/bin/time -f %M "$b" --root "$state/state-$n" run --bundle "$tmp/true" \
                  "berth-test-bench-$n" 2>&1 >/dev/null </dev/null | tail -1)
        ((kib > max)) && max=$kib
    done
    rss[$n]=$max
done

# --- table and ratios ----------------------------------------------------------------------
median_of() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .median' "$tmp/hyperfine.json"; }
echo
printf '%-20s %10s %10s %10s %10s %14s\n' benchmark "mean ms" "median ms" "stddev ms" "min ms" "peak RSS MiB"
jq -r '.results[] | [.command, .mean, .median, .stddev, .min] | @tsv' "$tmp/hyperfine.json" |
    while IFS=$'\t' read -r cmd mean median stddev min; do
        n=${cmd%% *}
        r=-
        [[ "$cmd" == *" run" ]] && r=$(awk -v k="${rss[$n]}" 'BEGIN { printf "%.1f", k / 1024 }')
        awk -v c="$cmd" -v a="$mean" -v m="$median" -v s="$stddev" -v l="$min" -v r="$r" \
            'BEGIN { printf "%-20s %10.2f %10.2f %10.2f %10.2f %14s\n", c, a*1000, m*1000, s*1000, l*1000, r }'
    done
echo
echo "ratios of medians (< 1 means the first is faster):"
groups=(run isolated)
((lifecycle)) && groups+=(lifecycle)
ratio() {  # ratio <a> <b> <group>
    local a b
    a=$(median_of "$1 $3") b=$(median_of "$2 $3")
    [[ -n "$a" && -n "$b" ]] || return 0
    awk -v a="$a" -v b="$b" -v l="$1/$2 ($3)" 'BEGIN { printf "  %-28s %6.2f\n", l, a / b }'
}
for g in "${groups[@]}"; do
    ratio berth crun "$g"
    ratio berth runc "$g"
    ratio crun runc "$g"
done
[[ -n "${rss[berth]:-}" && -n "${rss[crun]:-}" ]] &&
    awk -v a="${rss[berth]}" -v b="${rss[crun]}" 'BEGIN { printf "  %-28s %6.2f\n", "berth/crun (peak RSS)", a / b }'
[[ -n "${rss[berth]:-}" ]] || echo "  (berth-runtime not measured: no berth ratios)"

if [[ -n "$out_dir" ]]; then
    mkdir -p "$out_dir"
    cp "$tmp/hyperfine.json" "$tmp/hyperfine.md" "$out_dir/"
    echo "results: $out_dir/hyperfine.json, $out_dir/hyperfine.md"
fi
