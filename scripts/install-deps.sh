#!/usr/bin/env bash
# Installs every Debian 12 package Berth needs to build, test and benchmark. Idempotent: when all
# of them are already installed it changes nothing and needs no network; otherwise it runs
# apt-get update and installs the missing ones.
#   sudo scripts/install-deps.sh [--force]     --force: update + install (upgrade) all of them
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Build: compiler, CMake + Ninja + ccache, and the libraries in CMakeLists.txt.
build_packages=(
    cmake g++ ninja-build pkg-config ccache libc6-dev
    libgtest-dev libgmock-dev nlohmann-json3-dev rapidjson-dev libexpected-dev libfmt-dev libspdlog-dev
    libcli11-dev libseccomp-dev libcap-dev
    libssl-dev libcurl4-openssl-dev libisal-dev libarchive-dev zlib1g-dev libzstd-dev libsqlite3-dev libboost-dev liblzma-dev libbz2-dev
)
# Tests, demo and benchmarks: the busybox rootfs, the reference runtimes, containerd + ctr,
# hyperfine, GNU time (peak RSS), jq (edits config.json, builds OCI images), util-linux
# (unshare, mount tools); the image compat tests' clients: docker-py and skopeo (the docker CLI
# 28 itself is not a Debian package: the tests skip what needs it when it is missing).
test_packages=(
    busybox-static runc crun containerd hyperfine time jq util-linux mount
    python3-docker python3-cryptography skopeo docker-registry apache2-utils
)
packages=("${build_packages[@]}" "${test_packages[@]}")

berth_require_root
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ "$status" == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)) && [[ "${1:-}" != --force ]]; then
    echo "install-deps: all ${#packages[@]} Debian packages already installed"
    exit 0
fi

# Only the missing ones (unless forced), so installed packages aren't upgraded behind the back of
# whoever else uses the machine.
((${#missing[@]})) && [[ "${1:-}" != --force ]] || missing=("${packages[@]}")
echo "install-deps: installing ${missing[*]}"
# Some of these packages come with a system service that their install would start:
# docker-registry listens on :5000, containerd on its socket. Berth's tests and benchmarks start
# private instances of their own, so no service is started here (Debian's policy-rc.d
# convention: exit 101 = "not allowed"), unless the machine already has a policy of its own.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# install-deps.sh: no service starts while it installs packages\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
if ((made_policy)); then
    rm -f "$policy"
    trap - EXIT
fi
echo "install-deps: done (${#packages[@]} packages present)"
