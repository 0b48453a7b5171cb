# Sourced by scripts/*.sh and bench/*: repository paths, the build directory and small helpers.
# shellcheck shell=bash

BERTH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The release preset builds into build/; BERTH_BUILD_DIR puts the same configuration elsewhere
# (e.g. a developer's second tree, or a scratch copy).
BERTH_BUILD_DIR=${BERTH_BUILD_DIR:-$BERTH_REPO/build}
export BERTH_REPO BERTH_BUILD_DIR

berth_log() { printf '\n==> %s\n' "$*"; }
berth_die() { echo "error: $*" >&2; exit 1; }

berth_require_root() {
    [[ $EUID -eq 0 ]] || berth_die "$(basename "$0") must run as root (try: sudo $0)"
}

# berth_require_tools <tool...>: dies naming the first one missing (a command or a path).
berth_require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || berth_die "$tool missing: run scripts/install-deps.sh"
    done
}

# berth_usage: prints the calling script's header comment, its --help (from line 2 to the first
# line that is not a comment, or a shellcheck directive).
berth_usage() { awk 'NR == 1 { next } !/^#/ || /^# shellcheck/ { exit } { print }' "$0"; }

# Whole seconds since $1 (a `date +%s` value).
berth_elapsed() { echo "$(( $(date +%s) - $1 ))s"; }
