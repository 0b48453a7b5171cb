# shellcheck shell=bash
# Distinct variants of a data set, for the bench rows that unpack it (bench/images import,
# bench/registry pull), and the hyperfine --prepare scripts that step through them.
#
# Why: our disks' ext4 has no journal, and without one the inode allocator (fs/ext4/ialloc.c,
# find_inode_bit -> recently_deleted) skips every inode freed in the last
# dirty_expire_centisecs/100 + 5 s (~35 s), looking each one up in the buffer cache; so right after
# 20,000 files were deleted, creating 20,000 new ones costs ~0.4 ms an openat(O_CREAT) instead of
# ~20 us. A bench that deletes the previous run's tree before each run measures that quirk (3-5x,
# random), not unpacking. So every run unpacks a variant of its own, nothing is deleted while a
# group runs, and a group starts only once the window of the last big deletion is over.
#
#   bench_make_variants <tar> <dir> <n>   makes <dir>/v0.tar ... v<n-1>.tar: <tar> with one tiny
#       file ./.bench-variant (holding the variant's number) appended, so each has a digest of its
#       own (a new layer, a new chain ID) and unpacks every file of <tar> again
#   bench_prepare_script <file> <counter> <n> <body>   writes <file>, a sh script for hyperfine
#       --prepare: it sets k to the next number from <counter> (0, 1, ...; fails at n: more runs
#       than variants), runs <body> (sh, may use $k), then sync, so that the dirty data of the
#       previous run is not written back during the next one
#   bench_deleted    notes that many files were deleted just now
#   bench_settle     sleeps until the recently-deleted window of the last bench_deleted is over

bench__last_delete=0

bench_make_variants() {
    local tarf=$1 dir=$2 n=$3 k
    mkdir -p "$dir/stamp"
    for ((k = 0; k < n; k++)); do
        cp "$tarf" "$dir/v$k.tar.tmp"
        echo "$k" >"$dir/stamp/.bench-variant"
        tar -C "$dir/stamp" --numeric-owner --owner=0 --group=0 --mtime=@946684800 \
            -rf "$dir/v$k.tar.tmp" .bench-variant
        mv "$dir/v$k.tar.tmp" "$dir/v$k.tar"
    done
    sync
}

bench_prepare_script() {
    local file=$1 counter=$2 n=$3 body=$4
    # Two rows sharing a script would share a counter and step each other's variants.
    [[ ! -e "$file" ]] || { echo "bench_prepare_script: $file exists already" >&2; return 1; }
    echo 0 >"$counter"
    {
        echo 'set -e'
        echo "k=\$(cat $counter)"
        echo "[ \"\$k\" -lt $n ] ||"
        echo "    { echo \"bench: $file: no variant \$k (made $n)\" >&2; exit 1; }"
        echo "echo \$((k + 1)) >$counter"
        printf '%s\n' "$body"
        echo 'sync'
    } >"$file"
}

bench_deleted() { bench__last_delete=$(date +%s); }

bench_settle() {
    local window left
    window=$(($(cat /proc/sys/vm/dirty_expire_centisecs) / 100 + 5 + 2))
    left=$((bench__last_delete + window - $(date +%s)))
    if ((left > 0)); then
        echo "bench: waiting ${left} s for ext4's recently-deleted inode window to pass"
        sleep "$left"
    fi
}
