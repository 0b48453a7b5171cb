#!/usr/bin/env bash
# Compat test: skopeo (Debian's 1.9) and the daemon exchange images both ways.
#   - skopeo reads what the daemon saves: `skopeo inspect docker-archive:save.tar` (manifest,
#     config, layers = the daemon's IDs), `skopeo copy docker-archive:… oci-archive:…`; for
#     berthd, whose save is also an OCI layout, `skopeo inspect oci-archive:save.tar` too.
#     The save is made with the docker CLI 28 and, when build/bin/berth exists and the daemon is
#     berthd, with `berth save` as well.
#   - the daemon loads what skopeo writes: a docker-archive (`skopeo copy … docker-archive:z.tar:
#     name:tag`) and an oci-archive; same image ID as the original (skopeo keeps the config bytes).
#   - skopeo as an API client: `skopeo copy … docker-daemon:name:tag --dest-daemon-host` (POST
#     /images/load) and `skopeo inspect docker-daemon:… --daemon-host` (GET /images/get).
#     Note: skopeo 1.9's docker-daemon: transport does not negotiate; it always sends /v1.22/…
#     (containers/image docker/daemon/client.go, defaultAPIVersion), so a daemon whose minimum
#     API version is above 1.22 refuses it.
#
#   images_skopeo_test.sh
# Environment: BERTH_COMPAT_DAEMON=berthd (default) | dockerd, BERTH_COMPAT_DOCKER_CLI,
# BERTH_COMPAT_BERTH (the berth CLI; default <repo>/build/bin/berth), and lib/daemon.sh's
# variables.
# Output: one "ok"/"FAIL"/"skip" line per check; exit 0 all passed, 1 a failure, 77 skipped.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$here/lib/daemon.sh"

compat_preflight
command -v skopeo >/dev/null || compat_skip_or_fail "skopeo not installed (apt-get install skopeo)"
docker=$(compat_docker_cli) || compat_skip_or_fail "docker CLI 28.x not found (BERTH_COMPAT_DOCKER_CLI)"

work=$(mktemp -d /tmp/berth-test-compat-skopeo.XXXXXX)
compat_cleanup_hook() { rm -rf "$work"; }
compat_daemon_init
# skopeo 1.9's docker-daemon: transport always speaks API 1.22 and never negotiates; berthd
# serves 1.24 and up unless DOCKER_MIN_API_VERSION says otherwise (moby 26+'s knob; dockerd 20.10
# serves 1.12 and up anyway).
export DOCKER_MIN_API_VERSION=1.22
compat_daemon_start "${BERTH_COMPAT_DAEMON:-berthd}" || { echo "FAIL: daemon start"; exit 1; }
export DOCKER_HOST=$COMPAT_HOST DOCKER_CONFIG=$work/docker-config
unset DOCKER_API_VERSION DOCKER_CONTEXT
is_berthd() { [[ "$COMPAT_KIND" == berthd ]]; }
# --insecure-policy: the signature policy is not what is tested, and the host's
# /etc/containers/policy.json should not decide whether this test runs.
skopeo_=(timeout 120 skopeo --insecure-policy)
echo "skopeo: $(skopeo --version)"

bash "$here/make-rootfs-tar.sh" "$work/rootfs.tar" || { echo "FAIL: make-rootfs-tar"; exit 1; }
diff_id=sha256:$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

compat_run_ok "import compat/skopeo:1" "$docker" import -c 'ENV SK=1' -c 'CMD ["/bin/sh"]' \
    "$work/rootfs.tar" compat/skopeo:1
id=$out

# Saves made by the clients we have: the docker CLI always; berth's own CLI against berthd.
saves=(docker)
compat_run_ok "docker save -o" "$docker" save -o "$work/save-docker.tar" compat/skopeo:1
berth_cli=${BERTH_COMPAT_BERTH:-$COMPAT_REPO/build/bin/berth}
if is_berthd && [[ -x "$berth_cli" ]]; then
    if compat_run_ok "berth save -o" "$berth_cli" -H "$COMPAT_HOST" save -o "$work/save-berth.tar" \
        compat/skopeo:1; then
        saves+=(berth)
    fi
else
    compat_skipped "berth save -o" "needs berthd and $berth_cli"
fi

# --- skopeo reads the daemon's save ----------------------------------------------------------
for s in "${saves[@]}"; do
    tarf=$work/save-$s.tar
    compat_run_ok "[$s save] skopeo inspect docker-archive:" "${skopeo_[@]}" inspect "docker-archive:$tarf"
    ins=$out
    compat_expect_eq "[$s save] skopeo inspect: Layers = [diff-id]" \
        "$(jq -c .Layers <<<"$ins" 2>&1)" "[\"$diff_id\"]"
    compat_expect_eq "[$s save] skopeo inspect: Os/Architecture" \
        "$(jq -c '[.Os, .Architecture]' <<<"$ins" 2>&1)" "[\"linux\",\"$arch\"]"
    compat_expect_eq "[$s save] skopeo inspect: Env" "$(jq -c .Env <<<"$ins" 2>&1)" '["SK=1"]'
    # To a file: the config's exact bytes (a "$(…)" would drop a trailing newline).
    compat_run_ok "[$s save] skopeo inspect --config --raw" sh -c \
        "timeout 120 skopeo --insecure-policy inspect --config --raw 'docker-archive:$tarf' \
         >'$work/$s-config.json'"
    compat_expect_eq "[$s save] sha256 of the config skopeo reads is the image ID" \
        "sha256:$(sha256sum "$work/$s-config.json" | cut -d' ' -f1)" "$id"
    compat_run_ok "[$s save] skopeo copy docker-archive: oci-archive:" "${skopeo_[@]}" copy -q \
        "docker-archive:$tarf" "oci-archive:$work/$s-oci.tar:compat/skopeo:1"
    compat_expect_line "[$s save] the oci-archive has index.json" \
        "$(tar -tf "$work/$s-oci.tar" 2>&1)" '(\./)?index\.json'
    if is_berthd; then
        compat_run_ok "[$s save] skopeo inspect oci-archive: (the save is an OCI layout too)" \
            "${skopeo_[@]}" inspect "oci-archive:$tarf"
        compat_expect_eq "[$s save] skopeo inspect oci-archive: Layers" \
            "$(jq -c .Layers <<<"$out" 2>&1)" "[\"$diff_id\"]"
    else
        compat_skipped "[$s save] skopeo inspect oci-archive:" \
            "dockerd 20.10's save has no OCI layout (moby 25 added it)"
    fi
done

# --- the daemon loads what skopeo writes -----------------------------------------------------
compat_run_ok "skopeo copy docker-archive: docker-archive:z.tar:name:tag" "${skopeo_[@]}" copy -q \
    "docker-archive:$work/save-docker.tar" "docker-archive:$work/z.tar:compat/fromskopeo:2"
compat_run_ok "load -i skopeo's docker-archive" "$docker" load -i "$work/z.tar"
compat_expect_eq "load of skopeo's docker-archive: Loaded image" "$out" "Loaded image: compat/fromskopeo:2"
compat_run "$docker" image inspect --format '{{.Id}} {{json .RootFS.Layers}}' compat/fromskopeo:2
compat_expect_eq "skopeo's docker-archive: same ID and layers" "$out" "$id [\"$diff_id\"]"

compat_run_ok "skopeo copy docker-archive: oci-archive:y.tar:name:tag" "${skopeo_[@]}" copy -q \
    "docker-archive:$work/save-docker.tar" "oci-archive:$work/y.tar:docker.io/compat/fromoci:3"
if is_berthd; then
    compat_run_ok "rmi -f before loading the oci-archive" "$docker" rmi -f "$id"
    compat_run_ok "load -i skopeo's oci-archive" "$docker" load -i "$work/y.tar"
    compat_run "$docker" image inspect --format '{{.Id}} {{json .RootFS.Layers}}' "$id"
    compat_expect_eq "skopeo's oci-archive: same ID and layers" "$out" "$id [\"$diff_id\"]"
    compat_run "$docker" image inspect --format '{{.Id}}' compat/fromoci:3
    compat_expect_eq "skopeo's oci-archive: named after org.opencontainers.image.ref.name" "$out" "$id"
else
    compat_skipped "load of skopeo's oci-archive" \
        "dockerd 20.10 loads only docker-archive tarballs (manifest.json)"
fi

# --- skopeo as an API client (docker-daemon: transport) --------------------------------------
compat_run_ok "skopeo copy docker-archive: docker-daemon: (POST /images/load)" "${skopeo_[@]}" \
    copy -q --dest-daemon-host "$COMPAT_HOST" "docker-archive:$work/save-docker.tar" \
    docker-daemon:compat/viaskopeo:4
compat_run "$docker" image inspect --format '{{.Id}}' compat/viaskopeo:4
compat_expect_eq "docker-daemon: copy landed with the same ID" "$out" "$id"
compat_run_ok "skopeo inspect docker-daemon: (GET /images/get)" "${skopeo_[@]}" inspect \
    --daemon-host "$COMPAT_HOST" docker-daemon:compat/viaskopeo:4
compat_expect_eq "skopeo inspect docker-daemon: Layers" "$(jq -c .Layers <<<"$out" 2>&1)" "[\"$diff_id\"]"
compat_run_ok "skopeo copy docker-daemon: oci-archive:" "${skopeo_[@]}" copy -q \
    --src-daemon-host "$COMPAT_HOST" docker-daemon:compat/viaskopeo:4 "oci-archive:$work/fromdaemon.tar:x"

compat_summary "images_skopeo_test"
