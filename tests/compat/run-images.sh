#!/usr/bin/env bash
# Runs the image compat tests (docker CLI 28, docker-py 5.0.3, skopeo 1.9) against a private
# daemon each, and prints a summary: result and time per test and daemon.
#
#   run-images.sh [--daemon berthd|dockerd|both] [test ...]
#       tests: docker-cli dockerpy skopeo (default: all three)
# --daemon defaults to $BERTH_COMPAT_DAEMON, else berthd; "both" runs dockerd (the reference the
# tests are validated against) and then berthd. Other environment: see lib/daemon.sh.
# Exit: 0 all passed, 1 a failure, 77 everything skipped.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

daemons=${BERTH_COMPAT_DAEMON:-berthd}
tests=()
while (($#)); do
    case "$1" in
        --daemon) daemons=$2; shift 2 ;;
        --daemon=*) daemons=${1#--daemon=}; shift ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        docker-cli | dockerpy | skopeo) tests+=("$1"); shift ;;
        *) echo "run-images: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$daemons" == both ]] && daemons="dockerd berthd"
((${#tests[@]})) || tests=(docker-cli dockerpy skopeo)

declare -A script=([docker-cli]=images_docker_cli_test.sh [dockerpy]=images_dockerpy_test.py
                   [skopeo]=images_skopeo_test.sh)
rows=() failed=0 passed=0 skipped=0
for d in $daemons; do
    for t in "${tests[@]}"; do
        echo
        echo "=== $t on $d ==="
        start=$(date +%s.%N)
        BERTH_COMPAT_DAEMON=$d "$here/${script[$t]}"
        rc=$?
        secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
        case $rc in
            0) result=passed; passed=$((passed + 1)) ;;
            77) result=skipped; skipped=$((skipped + 1)) ;;
            *) result="FAILED (exit $rc)"; failed=$((failed + 1)) ;;
        esac
        rows+=("$(printf '  %-12s %-8s %-18s %6ss' "$t" "$d" "$result" "$secs")")
    done
done

echo
echo "image compat summary:"
printf '%s\n' "${rows[@]}"
echo "  $passed passed, $failed failed, $skipped skipped"
((failed)) && exit 1
((passed)) || exit 77
exit 0
