#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): installs the Debian packages, configures once and
# builds (release preset, ccache), checks the module layering, runs the unit tests, then the
# root tests (integration and compat) on the same build. Every stage runs even if an earlier
# test stage failed; the exit status is non-zero if anything failed.
#   sudo scripts/test.sh
# Environment:
#   BERTH_SKIP_DEPS=1        don't run scripts/install-deps.sh
#   BERTH_TEST_RUNTIME=PATH  run the root and compat tests against another runtime, e.g.
#                            /usr/bin/runc (a test that fails on runc is a wrong test)
#   BERTH_TEST_JOBS=N        parallel tests (default: number of CPUs; root tests are independent)
#   BERTH_CTEST_ARGS="..."   extra ctest arguments for every stage, e.g. "-R containerd"
#   BERTH_BUILD_DIR, BERTH_JOBS   see scripts/build.sh
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
berth_require_root
cd "$BERTH_REPO" || berth_die "cannot enter $BERTH_REPO"
start=$(date +%s)

if [[ "${BERTH_SKIP_DEPS:-}" != 1 ]]; then
    berth_log "Debian packages"
    bash scripts/install-deps.sh || berth_die "installing the Debian packages failed"
fi
berth_log "build"
bash scripts/build.sh || berth_die "the build failed"

failed_stages=()
results=$BERTH_BUILD_DIR/test-results
rm -rf "$results"
mkdir -p "$results"
jobs=${BERTH_TEST_JOBS:-$(nproc)}
read -r -a extra <<<"${BERTH_CTEST_ARGS:-}"

berth_log "layering (tools/check-layering.sh)"
bash tools/check-layering.sh || failed_stages+=(layering)

# run_stage <name> <ctest label> [ctest args]: one ctest run, JUnit results in $results/<name>.xml.
run_stage() {
    local name=$1 label=$2
    shift 2
    berth_log "$name tests (ctest -L $label)"
    ctest --test-dir "$BERTH_BUILD_DIR" -L "$label" -j "$jobs" --output-on-failure \
          --output-junit "$results/$name.xml" "$@" "${extra[@]}" </dev/null ||
        failed_stages+=("$name")
}

run_stage unit unit --no-tests=error
if [[ -n "${BERTH_TEST_RUNTIME:-}" ]]; then
    echo "root tests run against BERTH_TEST_RUNTIME=$BERTH_TEST_RUNTIME"
fi
# Root tests: integration (tests/integration) and compat (tests/compat, labels root;compat).
run_stage root root --no-tests=error
# Fallback paths, forced through BERTH_TEST_DISABLE (it reaches berth-runtime): the rootfs tests
# with the user-space RESOLVE_IN_ROOT walk instead of openat2 (crun's tests/no_openat2.c idea),
# and the lifecycle and cgroup tests with the parent joining the child to its cgroups instead
# of the child joining itself.
BERTH_TEST_DISABLE=openat2,selfjoin run_stage fallbacks root --no-tests=error \
    -R '^(MountTest|DeviceTest|LifecycleTest|CgroupTest|ExecTest)\.'

# One total over all stages, from ctest's JUnit files (ctest prints one summary per stage). A
# stage that failed without a failed test in its file (ctest finding no test, a crash) counts
# as one failed test, so the total never reads "0 failed" when the run failed.
xml_attr() { grep -m1 -oE "^[[:space:]]*$2=\"[0-9]+\"" "$1" | grep -oE '[0-9]+' || echo 0; }
total=1 failures=0 skipped=0   # the layering check counts as one test
[[ " ${failed_stages[*]} " == *" layering "* ]] && failures=1
for stage in unit root fallbacks; do
    xml=$results/$stage.xml
    stage_failures=0
    if [[ -f "$xml" ]]; then
        total=$((total + $(xml_attr "$xml" tests)))
        stage_failures=$(xml_attr "$xml" failures)
        skipped=$((skipped + $(xml_attr "$xml" skipped) + $(xml_attr "$xml" disabled)))
    fi
    if [[ " ${failed_stages[*]} " == *" $stage "* ]] && ((stage_failures == 0)); then
        stage_failures=1
        total=$((total + 1))
    fi
    failures=$((failures + stage_failures))
done
passed=$((total - failures - skipped))

berth_log "summary ($(berth_elapsed "$start"))"
if ((${#failed_stages[@]})); then
    echo "FAILED stages: ${failed_stages[*]}"
fi
echo "tests: $passed passed, $failures failed, $skipped skipped"
((${#failed_stages[@]} == 0))
