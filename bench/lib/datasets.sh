# shellcheck shell=bash
# The two one-layer data sets of bench/images and bench/registry, as root filesystem tars:
#   big.tar    one 200 MiB file of random data (head -c from /dev/urandom);
#   small.tar  20,000 files of 1-4 KiB in 200 directories.
#
#   bench_make_datasets <dir> <scratch-dir>   makes whichever of the two is missing in <dir>
#                                             (so a kept --data directory is reused)
#   bench_data_args "$@"   the options both benches take; sets runs, warmup, out_dir, data_dir
#                          and with_dockerd (defaults from BENCH_RUNS, BENCH_WARMUP, BENCH_OUT,
#                          BENCH_DATA)

# shellcheck disable=SC2034  # the variables are the caller's
bench_data_args() {
    runs=${BENCH_RUNS:-3}
    warmup=${BENCH_WARMUP:-1}
    out_dir=${BENCH_OUT:-}
    data_dir=${BENCH_DATA:-}
    with_dockerd=1
    while (($#)); do
        case "$1" in
            --runs) runs=$2; shift 2 ;;
            --warmup) warmup=$2; shift 2 ;;
            --out) out_dir=$2; shift 2 ;;
            --data) data_dir=$2; shift 2 ;;
            --no-dockerd) with_dockerd=0; shift ;;
            -h | --help) berth_usage; exit 0 ;;
            *) berth_die "unknown argument $1 (see --help)" ;;
        esac
    done
}

bench_make_datasets() {
    local dir=$1 scratch=$2
    local big=$dir/big.tar small=$dir/small.tar
    mkdir -p "$dir"
    if [[ ! -s "$big" ]]; then
        echo "bench: making $big (one 200 MiB file of random data)"
        mkdir -p "$scratch/mk"
        head -c 200M /dev/urandom >"$scratch/mk/random.bin"
        tar -C "$scratch/mk" --numeric-owner --owner=0 --group=0 -cf "$big.tmp" random.bin
        mv "$big.tmp" "$big"
        rm -rf "$scratch/mk"
    fi
    if [[ ! -s "$small" ]]; then
        echo "bench: making $small (20,000 files of 1-4 KiB in 200 directories)"
        # Written straight into the tar: no 20,000 files to create on disk just to pack them.
        /usr/bin/python3 - "$small.tmp" <<'PY'
import io, os, random, sys, tarfile
rnd = random.Random(20000)
with tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT) as t:
    for d in range(200):
        ti = tarfile.TarInfo(f'd{d:03d}')
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 946684800
        t.addfile(ti)
        for f in range(100):
            n = rnd.randint(1024, 4096)
            ti = tarfile.TarInfo(f'd{d:03d}/f{f:03d}')
            ti.size, ti.mode, ti.mtime = n, 0o644, 946684800
            t.addfile(ti, io.BytesIO(os.urandom(n)))
PY
        mv "$small.tmp" "$small"
    fi
}
