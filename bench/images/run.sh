#!/usr/bin/env bash
# bench/images: image import and save, berthd against the floor (tar) and Debian's dockerd 20.10,
# side by side in one hyperfine run per group, on two data sets:
#   - big:   one layer holding a single 200 MiB file of random data (head -c from /dev/urandom);
#   - small: one layer of 20,000 files of 1-4 KiB in 200 directories.
# Rows:
#   import: `berth import X.tar` | `tar -x` of the same tar into a fresh directory on the same
#           filesystem as the daemons' data roots (the floor) | the same `tar -x` followed by
#           `sync -f` (syncfs(2): what a store that survives a crash must add, and what berthd
#           does before it publishes a layer; dockerd does not) | `docker import` into dockerd.
#           Every run (warm-ups too) imports a variant of its own (X.tar plus one tiny file, so a
#           new layer: bench/lib/variants.sh) into a fresh layer or directory, and nothing is
#           deleted until the group (one data set, all contenders) is over; --prepare only steps
#           a symlink to the next variant (and tar's next directory) and syncs. Why: our ext4 has
#           no journal, and without one the inode allocator skips, one buffer-cache lookup each,
#           every inode freed in the last ~35 s (dirty_expire_centisecs/100 + 5), so creating
#           20,000 files right after deleting 20,000 costs ~10x (0.4 ms an openat(O_CREAT)
#           instead of 20 us). Deleting the previous run's tree before each run measured that.
#           After each group its leftovers go (all but the last import), and the next group
#           waits out that window;
#   save:   `berth save -o` | `tar -c` of the unpacked tree (the floor) | `docker save -o`, of
#           what the last import left.
# Then idle RSS (VmRSS from /proc/<pid>/status) of berthd, and of dockerd + its containerd, right
# after start and after the runs; the medians; the ratios berth/tar and berth/dockerd.
# Targets (issue 4): import and save within 1.2x of tar; idle berthd under 10 MiB.
# Cleaning up after a group takes a minute or two: / is mounted with online discard, which a
# journal-less ext4 issues synchronously for every freed extent, so deleting 20,000-file trees
# is slow (outside the timings).
#
#   sudo bench/images/run.sh [--runs N] [--warmup N] [--out DIR] [--data DIR] [--no-dockerd]
# Environment: BENCH_RUNS (default 3), BENCH_WARMUP (default 1), BENCH_OUT, BENCH_DATA (keep the
# generated tars there and reuse them next time), BERTH_COMPAT_BERTHD (default build/bin/berthd),
# BERTH_CLI (default build/bin/berth; the docker CLI 28 drives berthd while it is missing),
# BERTH_COMPAT_DOCKER_CLI (docker CLI 28 for dockerd).
# berthd or dockerd missing: that side is skipped with a message. Needs hyperfine, jq, and for
# dockerd Debian's docker.io (apt-get install --no-install-recommends docker.io; see
# tests/compat/lib/daemon.sh for how it is kept off the host's network).
# Disk: a group holds (warm-up + runs) variants and as many unpacked copies per contender (big,
# 3 runs + 1 warm-up, three contenders: ~3.2 GB under /tmp), freed when the group ends.
#
# Caches stay warm (the machine is shared: no drop_caches); the variants are read once before
# their group. The daemons run through tests/compat/lib/daemon.sh: private roots, sockets, mount
# and network namespaces, stopped and removed on exit.
# Noise: hyperfine runs each command's runs back to back, so a busy minute (other work writing to
# the same disk) can favour one contender. Compare min times as well, and use --runs 10 on an
# idle machine for figures to quote.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../../scripts/common.sh
source "$here/../../scripts/common.sh"
# shellcheck source=SCRIPTDIR/../../tests/compat/lib/daemon.sh
source "$BERTH_REPO/tests/compat/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/../lib/datasets.sh
source "$here/../lib/datasets.sh"
# shellcheck source=SCRIPTDIR/../lib/variants.sh
source "$here/../lib/variants.sh"

bench_data_args "$@"
berth_require_root
berth_require_tools hyperfine jq tar sync curl unshare
[[ -x /usr/bin/python3 ]] || berth_die "/usr/bin/python3 missing (makes the small-files tar)"

tmp=$(mktemp -d /tmp/berth-bench-images.XXXXXX)
compat_cleanup_hook() { rm -rf "$tmp"; }
compat_daemon_init

# --- data ----------------------------------------------------------------------------------
[[ -n "$data_dir" ]] || data_dir=$tmp/data
mkdir -p "$data_dir"
big=$data_dir/big.tar small=$data_dir/small.tar
bench_make_datasets "$data_dir" "$tmp"

# --- daemons -------------------------------------------------------------------------------
sides=()   # berth dockerd, those that work
berthd_bin=${BERTH_COMPAT_BERTHD:-$BERTH_BUILD_DIR/bin/berthd}
berth_bin=${BERTH_CLI:-${BERTH_COMPAT_BERTH:-$BERTH_BUILD_DIR/bin/berth}}
declare -A cli pid rss_start rss_end root
docker=$(compat_docker_cli || true)
berth_client=$berth_bin
if [[ ! -x "$berth_bin" && -n "$docker" ]]; then
    # Until the berth CLI exists, berthd is driven by the docker CLI: the daemon is measured the same.
    echo "bench: $berth_bin not built: berthd is driven by the docker CLI ($docker)"
    berth_client=$docker
fi
if [[ -x "$berthd_bin" && -x "$berth_client" ]]; then
    if compat_daemon_start berthd; then
        sleep 4   # idle after start: berthd drops its start-up code pages 3 s after it
                  # starts serving (common/resident.hpp)
        pid[berth]=$COMPAT_PID root[berth]=$COMPAT_DATA_ROOT
        cli[berth]="$berth_client -H $COMPAT_HOST"
        sides+=(berth)
    else
        echo "bench: berthd did not start: skipped"
    fi
else
    echo "bench: berthd or the berth CLI not built ($berthd_bin, $berth_bin): skipped"
fi
if ((with_dockerd)); then
    if [[ -z "$docker" ]]; then
        echo "bench: docker CLI 28.x not found: dockerd skipped"
    elif [[ ! -x "${BERTH_COMPAT_DOCKERD:-/usr/sbin/dockerd}" ]]; then
        echo "bench: dockerd missing (apt-get install --no-install-recommends docker.io): skipped"
    elif compat_daemon_start dockerd; then
        sleep 4
        pid[dockerd]=$COMPAT_PID root[dockerd]=$COMPAT_DATA_ROOT
        cli[dockerd]="$docker -H $COMPAT_HOST"
        sides+=(dockerd)
    else
        echo "bench: dockerd did not start: skipped"
    fi
fi

# dockerd's RSS is its own plus its containerd child's; berthd's its own plus its shim
# launcher's (the berth-shim child that forks the containers' shims).
daemon_rss_kib() {  # daemon_rss_kib <side>
    if [[ "$1" == berth ]]; then
        compat_rss_with_children_kib "${pid[$1]}" berth-shim
    else
        compat_rss_with_children_kib "${pid[$1]}" containerd
    fi
}
[[ -n "${pid[berth]:-}" ]] && rss_start[berth]=$(daemon_rss_kib berth)
[[ -n "${pid[dockerd]:-}" ]] && rss_start[dockerd]=$(daemon_rss_kib dockerd)

# A side is measured only if import → inspect → save → rmi + prune really works and leaves the
# data root empty again (otherwise "import" could skip the unpack in later runs).
ok_sides=()
for s in "${sides[@]}"; do
    c=${cli[$s]}
    before=$(du -sk "${root[$s]}" | cut -f1)
    if ! err=$($c import "$small" bench/check:1 2>&1 && $c image inspect bench/check:1 2>&1 &&
               $c save -o "$tmp/check.tar" bench/check:1 2>&1 && $c rmi -f bench/check:1 2>&1 &&
               $c image prune -f 2>&1); then
        echo "bench: $s: import/inspect/save/rmi of a test image failed: skipped"
        tail -8 <<<"$err" | sed 's/^/    /'
        continue
    fi
    rm -f "$tmp/check.tar"
    after=$(du -sk "${root[$s]}" | cut -f1)
    if ((after - before > 20 * 1024)); then
        echo "bench: warning: $s keeps $(((after - before) / 1024)) MiB after rmi -f + image prune -f;" \
             "its import may not unpack again in every run"
    fi
    ok_sides+=("$s")
done
bench_deleted   # the check's 20,000 files

floor=$tmp/floor
mkdir -p "$floor" "$tmp/out"
if [[ -n "${root[berth]:-}" ]] && [[ "$(stat -c %d "$floor")" != "$(stat -c %d "${root[berth]}")" ]]; then
    echo "bench: warning: the tar floor ($floor) is not on berthd's data root's filesystem"
fi

echo
fs="$(df --output=fstype "$floor" | tail -1) ($(df --output=source "$floor" | tail -1))"
echo "bench/images: $(uname -r), $(nproc) CPUs, data roots and floor on $fs"
echo "  big: $(du -h "$big" | cut -f1) in one file; small: 20,000 files, $(du -h "$small" | cut -f1) tar"
for s in "${ok_sides[@]}"; do
    case $s in
        berth) echo "  berth: $berthd_bin, CLI $berth_client" ;;
        dockerd)
            echo "  dockerd: $(${cli[dockerd]} version --format '{{.Server.Version}}')," \
                 "CLI $docker" ;;
    esac
done
echo "  $runs runs after $warmup warm-up runs each; page cache warm"
load=$(cut -d' ' -f1 /proc/loadavg)
echo "  load average at start: $load"
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "  warning: the machine is busy; medians will be noisy (re-run when idle)"
fi

style=()
[[ -t 1 ]] || style=(--style basic)
hf() {  # hf <json> <hyperfine args...>
    local json=$1
    shift
    hyperfine -N "${style[@]}" --warmup "$warmup" --runs "$runs" --export-json "$json" "$@" </dev/null
}

# --- import: one hyperfine group per data set --------------------------------------------
has() { [[ " ${ok_sides[*]} " == *" $1 "* ]]; }
nvar=$((warmup + runs))
mkdir -p "$tmp/cur"
for set in big small; do
    vdir=$tmp/variants/$set
    bench_make_variants "$data_dir/$set.tar" "$vdir" "$nvar"
    cat "$vdir"/v*.tar >/dev/null   # into the page cache, for every contender alike
    cmds=()
    for s in berth tar tarsync dockerd; do
        [[ $s == tar* ]] || has "$s" || continue
        cur=$tmp/cur/$s-$set.tar prep=$tmp/cur/$s-$set.prepare
        body="ln -sfn $vdir/v\$k.tar $cur"
        if [[ $s == tar ]]; then
            # $floor/$set: a symlink to this run's fresh directory (tar -C follows it).
            body+="; mkdir $floor/$set.\$k; ln -sfn $set.\$k $floor/$set"
            name="tar -x $set" cmd="tar -C $floor/$set -xf $cur"
        elif [[ $s == tarsync ]]; then
            body+="; mkdir $floor/sync-$set.\$k; ln -sfn sync-$set.\$k $floor/sync-$set"
            name="tar -x+syncfs $set"
            cmd="sh -c 'tar -C $floor/sync-$set -xf $cur && sync -f $floor/sync-$set/.'"
        else
            name="$s import $set" cmd="${cli[$s]} import $cur bench/$set:1"
        fi
        bench_prepare_script "$prep" "$tmp/cur/$s-$set.k" "$nvar" "$body"
        cmds+=(--prepare "sh $prep" -n "$name" "$cmd")
    done
    bench_settle
    echo
    hf "$tmp/import-$set.json" "${cmds[@]}"
    # Leftovers: the images the tag moved away from (dangling now), the older trees, the
    # variants. The last import stays for the save rows.
    for s in "${ok_sides[@]}"; do ${cli[$s]} image prune -f >/dev/null; done
    for ((k = 0; k < nvar - 1; k++)); do rm -rf "${floor:?}/$set.$k" "${floor:?}/sync-$set.$k"; done
    rm -rf "$vdir"
    bench_deleted
done
jq -s '{results: (.[0].results + .[1].results)}' "$tmp/import-big.json" "$tmp/import-small.json" \
    >"$tmp/import.json"

# --- save ----------------------------------------------------------------------------------
# The images and the unpacked trees are those the last import runs left.
cmds=()
for set in big small; do
    for s in berth tar dockerd; do
        [[ $s == tar ]] || has "$s" || continue
        o=$tmp/out/$s-$set.tar
        if [[ $s == tar ]]; then
            cmds+=(--prepare "sh -c 'rm -f $o; sync'" -n "tar -c $set" "tar -C $floor/$set -cf $o .")
        else
            cmds+=(--prepare "sh -c 'rm -f $o; sync'" -n "$s save $set" "${cli[$s]} save -o $o bench/$set:1")
        fi
    done
done
# The import groups' leftovers were just deleted (online discard keeps the disk busy a while).
bench_settle
echo
hf "$tmp/save.json" "${cmds[@]}"
jq -s '{results: (.[0].results + .[1].results)}' "$tmp/import.json" "$tmp/save.json" >"$tmp/hyperfine.json"

# --- RSS after the runs (idle: berthd drops the code pages its requests ran 3 s after its last
# connection, common/resident.hpp; every daemon gets the same quiet 4 s) ---
sleep 4
for s in "${ok_sides[@]}"; do rss_end[$s]=$(daemon_rss_kib "$s"); done

# --- table and ratios ----------------------------------------------------------------------
median_of() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .median' "$tmp/hyperfine.json"; }
echo
printf '%-22s %10s %10s %10s %10s\n' benchmark "mean s" "median s" "stddev s" "min s"
jq -r '.results[] | [.command, .mean, .median, (.stddev // 0), .min] | @tsv' "$tmp/hyperfine.json" |
    while IFS=$'\t' read -r cmd mean median stddev min; do
        awk -v c="$cmd" -v a="$mean" -v m="$median" -v s="$stddev" -v l="$min" \
            'BEGIN { printf "%-22s %10.3f %10.3f %10.3f %10.3f\n", c, a, m, s, l }'
    done
echo
echo "idle RSS (VmRSS, MiB)          after start   after the runs"
mib() { [[ -n "$1" ]] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || echo -; }
for s in "${ok_sides[@]}"; do
    label=$s
    [[ $s == berth ]] && label="berthd + shim launcher"
    [[ $s == dockerd ]] && label="dockerd + containerd"
    printf '  %-28s %11s   %14s\n' "$label" "$(mib "${rss_start[$s]:-}")" "$(mib "${rss_end[$s]:-}")"
done
echo
echo "ratios of medians (< 1 means the first is faster; target berth/tar <= 1.2):"
ratio() {  # ratio <a> <b> <label>
    local a b
    a=$(median_of "$1") b=$(median_of "$2")
    [[ -n "$a" && -n "$b" ]] || return 0
    awk -v a="$a" -v b="$b" -v l="$3" 'BEGIN { printf "  %-34s %6.2f\n", l, a / b }'
}
for op in import save; do
    [[ $op == import ]] && floor_op="tar -x" || floor_op="tar -c"
    for set in big small; do
        ratio "berth $op $set" "$floor_op $set" "berth/tar ($op $set)"
        [[ $op == import ]] &&
            ratio "berth $op $set" "tar -x+syncfs $set" "berth/(tar -x+syncfs) ($op $set)"
        ratio "berth $op $set" "dockerd $op $set" "berth/dockerd ($op $set)"
        ratio "dockerd $op $set" "$floor_op $set" "dockerd/tar ($op $set)"
    done
done
if [[ -n "${rss_end[berth]:-}" ]]; then
    if [[ -n "${rss_end[dockerd]:-}" ]]; then
        awk -v a="${rss_end[berth]}" -v b="${rss_end[dockerd]}" \
            'BEGIN { printf "  %-34s %6.3f\n", "berthd/(dockerd+containerd) idle RSS", a / b }'
    fi
    awk -v a="${rss_start[berth]:-0}" -v b="${rss_end[berth]}" 'BEGIN {
        printf "  idle berthd + shim launcher RSS (target < 10 MiB): %.1f MiB after start (%s),", a / 1024,
               (a < 10240 ? "met" : "MISSED")
        printf " %.1f MiB after the runs (%s)\n", b / 1024, (b < 10240 ? "met" : "MISSED") }'
else
    echo "  (berthd not measured: no berth ratios)"
fi

if [[ -n "$out_dir" ]]; then
    mkdir -p "$out_dir"
    cp "$tmp/hyperfine.json" "$out_dir/"
    echo "results: $out_dir/hyperfine.json"
fi
