#!/usr/bin/env bash
# bench/registry: push and pull through Debian's docker-registry (distribution 2.8) on 127.0.0.1,
# berthd against Debian's dockerd 20.10 and skopeo 1.9, side by side in one hyperfine run, on
# two one-layer images:
#   - big:   a single 200 MiB file of random data (so gzip can't make it small);
#   - small: 20,000 files of 1-4 KiB in 200 directories.
# Rows:
#   push:  `berth push` | `docker push` (dockerd) | `skopeo copy oci:<layout> docker://...` (the
#          same image as an OCI layout, layer uncompressed: skopeo gzips it while it sends, as the
#          daemons do). Before each run the registry forgets everything (its storage is emptied),
#          so every push uploads the whole layer;
#   pull:  `berth pull` | `docker pull` (dockerd) | `skopeo copy docker://...
#          containers-storage:[overlay@<root>+<runroot>]` (c/storage, the store podman runs
#          containers from, private to the bench, native overlay: it downloads, checks and
#          unpacks the layer like the daemons; the like-for-like skopeo row) | `skopeo copy
#          docker://... oci:<dir>` ("oci:, no unpack": it only downloads and checks the blob).
#          Every run (warm-ups too) pulls a variant of its own (the data set plus one tiny file,
#          bench/lib/variants.sh: a new layer, so nothing is reused), pushed beforehand by skopeo
#          to each registry (the same gzipped bytes for every contender); --prepare only moves
#          the row's tag to the next variant (a manifest PUT) and syncs, and nothing is deleted
#          until the group (one data set, all contenders) is over. Why: our ext4 has no journal,
#          and without one the inode allocator skips, one buffer-cache lookup each, every inode
#          freed in the last ~35 s (dirty_expire_centisecs/100 + 5), so unpacking 20,000 files
#          right after deleting 20,000 costs ~10x; removing the previous run's image before each
#          run measured that. Each group's leftovers go when it ends, and the next group waits
#          out that window.
# Each contender has a registry of its own, started in its daemon's private network namespace
# (tests/compat/lib/daemon.sh, lib/registry.sh); skopeo uses berthd's. Then the medians and the
# ratios: push, berth against dockerd and skopeo; pull, berth against dockerd and skopeo's
# containers-storage row (not the oci: one, which does less). Target (issue 6): berth faster than
# both on every row.
# Disk: the big pull group holds 4 gzipped variants in two registries and 4 unpacked copies in
# each of four stores (~5 GB under /tmp with 3 runs + 1 warm-up), freed when the group ends.
# Cleaning up after a group takes a minute or two: / is mounted with online discard, which a
# journal-less ext4 issues synchronously for every freed extent, so deleting 20,000-file trees
# is slow (outside the timings).
#
#   sudo bench/registry/run.sh [--runs N] [--warmup N] [--out DIR] [--data DIR] [--no-dockerd]
# Environment: BENCH_RUNS (default 3), BENCH_WARMUP (default 1), BENCH_OUT, BENCH_DATA (keep the
# generated tars there and reuse them next time), BERTH_COMPAT_BERTHD (default build/bin/berthd),
# BERTH_CLI (default build/bin/berth), BERTH_COMPAT_DOCKER_CLI (docker CLI 28 for dockerd).
# Needs hyperfine, jq, docker-registry, skopeo (Debian's, with containers-storage and native
# overlay); dockerd from Debian's docker.io (optional). skopeo, as root, also keeps its blob-info
# cache in /var/lib/containers/cache (it has no flag to move it).
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
# shellcheck source=SCRIPTDIR/../../tests/compat/lib/registry.sh
source "$BERTH_REPO/tests/compat/lib/registry.sh"

bench_data_args "$@"
berth_require_root
berth_require_tools hyperfine jq tar docker-registry skopeo nsenter curl

tmp=$(mktemp -d /tmp/berth-bench-registry.XXXXXX)
# c/storage (the skopeo pull row) leaves its overlay home bind-mounted: unmount before removing.
compat_cleanup_hook() { compat_registries_stop; compat__unmount_under "$tmp"; rm -rf "$tmp"; }
compat_daemon_init

# --- data: the two root filesystems as tars, and the same images as OCI layouts (skopeo) ----
[[ -n "$data_dir" ]] || data_dir=$tmp/data
mkdir -p "$data_dir"
big=$data_dir/big.tar small=$data_dir/small.tar
bench_make_datasets "$data_dir" "$tmp"
# oci_layout <tar> <dir>: a one-layer OCI image layout whose layer is the tar itself.
oci_layout() {
    local tarf=$1 dir=$2 diff size cfg cfgd mf mfd
    mkdir -p "$dir/blobs/sha256"
    diff=$(sha256sum "$tarf" | cut -d' ' -f1)
    size=$(stat -c %s "$tarf")
    ln -f "$tarf" "$dir/blobs/sha256/$diff" 2>/dev/null || cp "$tarf" "$dir/blobs/sha256/$diff"
    cfg=$(jq -nc --arg d "sha256:$diff" \
        '{architecture:"amd64",os:"linux",config:{},rootfs:{type:"layers",diff_ids:[$d]}}')
    cfgd=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
    printf '%s' "$cfg" >"$dir/blobs/sha256/$cfgd"
    mf=$(jq -nc --arg c "sha256:$cfgd" --argjson cs "${#cfg}" --arg l "sha256:$diff" \
        --argjson ls "$size" '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
        config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
        layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$l,size:$ls}]}')
    mfd=$(printf '%s' "$mf" | sha256sum | cut -d' ' -f1)
    printf '%s' "$mf" >"$dir/blobs/sha256/$mfd"
    printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
    jq -nc --arg m "sha256:$mfd" --argjson s "${#mf}" \
        '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$s,annotations:{"org.opencontainers.image.ref.name":"1"}}]}' \
        >"$dir/index.json"
}
for set in big small; do oci_layout "$data_dir/$set.tar" "$tmp/oci-$set"; done
cat "$big" "$small" >/dev/null   # into the page cache, for every contender alike

# --- daemons, each with a registry in its network namespace --------------------------------
sides=()
declare -A cli reg regdir
berthd_bin=${BERTH_COMPAT_BERTHD:-$BERTH_BUILD_DIR/bin/berthd}
berth_bin=${BERTH_CLI:-$BERTH_BUILD_DIR/bin/berth}
docker=$(compat_docker_cli || true)
start_side() {  # start_side <side> <daemon kind> <client>
    local s=$1
    compat_daemon_start "$2" || { echo "bench: $2 did not start: $s skipped"; return 1; }
    pid_of_side[$s]=$COMPAT_PID
    cli[$s]="$3 -H $COMPAT_HOST"
    compat_registry_start distribution "$s" "$tmp" || { echo "bench: registry for $s: skipped"; return 1; }
    reg[$s]=$REG_ADDR regdir[$s]=$tmp/registry-$s/storage
    for set in big small; do
        ${cli[$s]} import "$data_dir/$set.tar" "$REG_ADDR/bench/$set:1" >/dev/null
    done
    sides+=("$s")
}
declare -A pid_of_side
if [[ -x "$berthd_bin" && -x "$berth_bin" ]]; then
    start_side berth berthd "$berth_bin" || true
else
    echo "bench: berthd or berth not built ($berthd_bin, $berth_bin): skipped"
fi
if ((with_dockerd)) && [[ -n "$docker" && -x "${BERTH_COMPAT_DOCKERD:-/usr/sbin/dockerd}" ]]; then
    start_side dockerd dockerd "$docker" || true
else
    echo "bench: dockerd or the docker CLI 28 missing: dockerd skipped"
fi
# skopeo talks to berthd's registry, from inside berthd's network namespace.
skopeo_ok=0
if [[ -n "${reg[berth]:-}" ]]; then
    sk="nsenter -t ${pid_of_side[berth]} -n -- skopeo --insecure-policy"
    skopeo_ok=1
fi

echo
echo "bench/registry: $(uname -r), $(nproc) CPUs; registry: docker-registry $(docker-registry --version 2>/dev/null | awk '{print $3}')"
echo "  big: $(du -h "$big" | cut -f1) in one file; small: 20,000 files, $(du -h "$small" | cut -f1) tar"
echo "  $runs runs after $warmup warm-up runs each; load average at start: $(cut -d' ' -f1 /proc/loadavg)"
style=()
[[ -t 1 ]] || style=(--style basic)
hf() {  # hf <json> <hyperfine args...>
    local json=$1
    shift
    hyperfine -N "${style[@]}" --warmup "$warmup" --runs "$runs" --export-json "$json" "$@" </dev/null
}
has() { [[ " ${sides[*]} " == *" $1 "* ]]; }
# skopeo_row <op> <set>: the name of skopeo's row berth is compared with.
skopeo_row() { [[ $1 == pull ]] && echo "skopeo pull $2 (c/storage)" || echo "skopeo $1 $2"; }
# forget <side>: the registry's storage emptied (distribution keeps no blob cache here, so the
# next push finds nothing and uploads the whole layer).
forget() { echo "sh -c 'rm -rf ${regdir[$1]}/docker; sync'"; }

# --- push ----------------------------------------------------------------------------------
cmds=()
for set in big small; do
    for s in berth dockerd; do
        has "$s" || continue
        cmds+=(--prepare "$(forget "$s")" -n "$s push $set" "${cli[$s]} push ${reg[$s]}/bench/$set:1")
    done
    if ((skopeo_ok)); then
        cmds+=(--prepare "$(forget berth)" -n "skopeo push $set"
               "$sk copy --dest-tls-verify=false --dest-compress oci:$tmp/oci-$set:1 docker://${reg[berth]}/skopeo/$set:1")
    fi
done
hf "$tmp/push.json" "${cmds[@]}"

# --- pull: one hyperfine group per data set ----------------------------------------------
nvar=$((warmup + runs))
v2s2=application/vnd.docker.distribution.manifest.v2+json
# in_net <side> <cmd...>: runs a command in <side>'s network namespace (where its registry is).
in_net() { local p=${pid_of_side[$1]}; shift; nsenter -t "$p" -n -- "$@"; }
mkdir -p "$tmp/cur"
for set in big small; do
    vdir=$tmp/variants/$set cs=$tmp/cs-$set
    bench_make_variants "$data_dir/$set.tar" "$vdir" "$nvar"
    # Every variant into every registry, gzipped by skopeo (as the daemons' pushes are), with its
    # manifest kept for the --prepare's PUT; the same bytes for every contender.
    for ((k = 0; k < nvar; k++)); do
        oci_layout "$vdir/v$k.tar" "$vdir/oci-v$k"
        for s in "${sides[@]}"; do
            in_net "$s" skopeo --insecure-policy copy -q --dest-tls-verify=false --dest-compress \
                --format v2s2 "oci:$vdir/oci-v$k:1" "docker://${reg[$s]}/bench/$set:v$k" >/dev/null
            in_net "$s" curl -sf -H "Accept: $v2s2" -o "$vdir/mf-$s-v$k.json" \
                "http://${reg[$s]}/v2/bench/$set/manifests/v$k"
        done
    done
    rm -rf "$vdir"/v*.tar "$vdir"/oci-v*   # a few files: the layers are in the registries now
    # row <side> <tag> <name> <cmd>: a row whose --prepare points <tag> of <side>'s registry at
    # the next variant.
    cmds=()
    row() {
        local prep=$tmp/cur/$1-$2-$set.prepare
        bench_prepare_script "$prep" "$tmp/cur/$1-$2-$set.k" "$nvar" \
            "nsenter -t ${pid_of_side[$1]} -n -- curl -sf -o /dev/null -X PUT \
-H 'Content-Type: $v2s2' --data-binary @$vdir/mf-$1-v\$k.json \
http://${reg[$1]}/v2/bench/$set/manifests/$2"
        cmds+=(--prepare "sh $prep" -n "$3" "$4")
    }
    for s in berth dockerd; do
        has "$s" || continue
        row "$s" cur "$s pull $set" "${cli[$s]} pull ${reg[$s]}/bench/$set:cur"
    done
    if ((skopeo_ok)); then
        mkdir -p "$cs/root" "$cs/run"
        src="$sk copy --src-tls-verify=false docker://${reg[berth]}/bench/$set"
        row berth cur-cs "$(skopeo_row pull "$set")" \
            "$src:cur-cs containers-storage:[overlay@$cs/root+$cs/run]bench/$set:1"
        row berth cur-oci "skopeo pull $set (oci:, no unpack)" \
            "$src:cur-oci oci:$tmp/skopeo-oci-$set:1"
    fi
    bench_settle
    echo
    hf "$tmp/pull-$set.json" "${cmds[@]}"
    # Leftovers: every image of the daemons (the push rows are done), the skopeo stores, the
    # registries' blobs.
    for s in "${sides[@]}"; do
        ${cli[$s]} image prune -af >/dev/null
        rm -rf "${regdir[$s]:?}/docker"
    done
    compat__unmount_under "$cs"   # c/storage leaves its overlay home bind-mounted
    rm -rf "$cs" "$tmp/skopeo-oci-$set" "$vdir"
    bench_deleted
done
jq -s '{results: (.[0].results + .[1].results)}' "$tmp/pull-big.json" "$tmp/pull-small.json" \
    >"$tmp/pull.json"
jq -s '{results: (.[0].results + .[1].results)}' "$tmp/push.json" "$tmp/pull.json" >"$tmp/hyperfine.json"

# --- table and ratios ----------------------------------------------------------------------
median_of() { jq -r --arg c "$1" '.results[] | select(.command == $c) | .median' "$tmp/hyperfine.json"; }
echo
printf '%-36s %10s %10s %10s %10s\n' benchmark "mean s" "median s" "stddev s" "min s"
jq -r '.results[] | [.command, .mean, .median, (.stddev // 0), .min] | @tsv' "$tmp/hyperfine.json" |
    while IFS=$'\t' read -r cmd mean median stddev min; do
        awk -v c="$cmd" -v a="$mean" -v m="$median" -v s="$stddev" -v l="$min" \
            'BEGIN { printf "%-36s %10.3f %10.3f %10.3f %10.3f\n", c, a, m, s, l }'
    done
echo
echo "ratios of medians (< 1: berth is faster; target: below 1 on every row):"
missed=0
for op in push pull; do
    for set in big small; do
        b=$(median_of "berth $op $set")
        [[ -n "$b" ]] || continue
        for other in dockerd skopeo; do
            name="$other $op $set"
            [[ $other == skopeo ]] && name=$(skopeo_row "$op" "$set")
            o=$(median_of "$name")
            [[ -n "$o" ]] || continue
            r=$(awk -v a="$b" -v b="$o" 'BEGIN { printf "%.2f", a / b }')
            awk -v r="$r" 'BEGIN { exit !(r >= 1) }' && missed=$((missed + 1))
            printf '  %-30s %6s\n' "berth/$other ($op $set)" "$r"
        done
    done
done
if ((missed)); then
    echo "  target: faster than dockerd and skopeo on every row: MISSED on $missed"
else
    echo "  target: faster than dockerd and skopeo on every row: met"
fi
if [[ -n "$out_dir" ]]; then
    mkdir -p "$out_dir"
    cp "$tmp/hyperfine.json" "$out_dir/"
    echo "results: $out_dir/hyperfine.json"
fi
