#!/usr/bin/env bash
# Compat test: the real docker CLI 28 and the berth CLI, pointed at a private daemon, push to and
# pull from two registries on 127.0.0.1: Debian's docker-registry (distribution 2.8) and
# `berth-registry serve`, each without auth and with htpasswd auth.
#   push (new layers "Pushed", again "Layer already exists", to a second repository "Mounted
#   from"), pull (by tag and digest; "Pull complete", "Already exists", "Digest:", the status
#   line, RepoDigests), run of a pulled image, run of an image not yet pulled (the CLI pulls on
#   create's 404), missing tags and repositories (moby's messages, exit 1), login with a wrong
#   and the right password (docker's config.json, shared by both CLIs), pull and push with the
#   stored credentials, logout, the "pull" and "push" events.
#
# Environment: BERTH_COMPAT_DAEMON=berthd (default) | dockerd, BERTH_COMPAT_DOCKER_CLI,
# BERTH_COMPAT_REGISTRY (berth-registry), and lib/daemon.sh's variables.
# Output: one "ok"/"FAIL"/"skip" line per check; exit 0 all passed, 1 a failure, 77 skipped.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$here/lib/daemon.sh"
# shellcheck source=SCRIPTDIR/lib/containers.sh
source "$here/lib/containers.sh"
# shellcheck source=SCRIPTDIR/lib/registry.sh
source "$here/lib/registry.sh"

compat_preflight
docker=$(compat_docker_cli) || compat_skip_or_fail "docker CLI 28.x not found (BERTH_COMPAT_DOCKER_CLI)"
for tool in docker-registry htpasswd curl python3; do
    command -v "$tool" >/dev/null || compat_skip_or_fail "$tool not installed"
done
berth=${BERTH_COMPAT_CLI:-$COMPAT_REPO/build/bin/berth}

work=$(mktemp -d /tmp/berth-test-compat-reg.XXXXXX)
compat_cleanup_hook() { compat_containers_cleanup; compat_registries_stop; rm -rf "$work"; }
compat_daemon_init
compat_daemon_start "${BERTH_COMPAT_DAEMON:-berthd}" || { echo "FAIL: daemon start"; exit 1; }
export DOCKER_HOST=$COMPAT_HOST DOCKER_CONFIG=$work/docker-config
unset DOCKER_API_VERSION DOCKER_CONTEXT
compat_busybox_image "$docker" "$work" >/dev/null || { echo "FAIL: import busybox"; exit 1; }
compat_htpasswd "$work/htpasswd" compat s3cret

# All events of the run, for the pull/push checks at the end.
"$docker" events --format '{{.Type}} {{.Action}} {{.Actor.ID}}' >"$work/events" 2>&1 &
events_pid=$!

# scenario <kind>: the whole round trip against one registry of that kind.
scenario() {
    local kind=$1 r digest
    compat_registry_start "$kind" "$kind-plain" "$work" || { compat_bad "$kind: registry starts"; return; }
    r=$REG_ADDR
    echo "--- $kind registry at $r"

    "$docker" tag busybox:latest "$r/compat/busybox:1"
    compat_run_ok "$kind: docker push" "$docker" push "$r/compat/busybox:1"
    compat_expect_contains "$kind: push names the repository" "$out" "The push refers to repository [$r/compat/busybox]"
    compat_expect_match "$kind: push says Pushed" "$out" ": Pushed"
    compat_expect_match "$kind: push prints the digest line" "$out" "1: digest: sha256:[0-9a-f]{64} size: [0-9]+"
    digest=$(grep -oE 'sha256:[0-9a-f]{64}' <<<"$out" | tail -n1)

    compat_run_ok "$kind: push again" "$docker" push "$r/compat/busybox:1"
    compat_expect_contains "$kind: second push: Layer already exists" "$out" "Layer already exists"
    compat_expect_contains "$kind: second push: same digest" "$out" "$digest"

    "$docker" tag busybox:latest "$r/other/busybox:2"
    compat_run_ok "$kind: push to a second repository" "$docker" push "$r/other/busybox:2"
    compat_expect_contains "$kind: second repository: Mounted from" "$out" "Mounted from compat/busybox"

    # Forget every local copy of the layer, then pull it back.
    "$docker" rmi "$r/compat/busybox:1" "$r/other/busybox:2" >/dev/null
    "$docker" rmi busybox:latest >/dev/null
    compat_run_ok "$kind: docker pull" "$docker" pull "$r/compat/busybox:1"
    compat_expect_contains "$kind: pull: Pulling from" "$out" "1: Pulling from compat/busybox"
    compat_expect_contains "$kind: pull: Pull complete" "$out" "Pull complete"
    compat_expect_contains "$kind: pull: Digest line" "$out" "Digest: $digest"
    compat_expect_contains "$kind: pull: status line" "$out" "Status: Downloaded newer image for $r/compat/busybox:1"
    compat_expect_eq "$kind: pull: last line is the reference" "$(tail -n1 <<<"$out")" "$r/compat/busybox:1"
    compat_run_ok "$kind: run the pulled image" "$docker" run --rm "$r/compat/busybox:1" cat /etc/passwd
    compat_expect_contains "$kind: run: the image's files" "$out" "root:"
    compat_run_ok "$kind: inspect RepoDigests" "$docker" inspect --format '{{json .RepoDigests}}' "$r/compat/busybox:1"
    compat_expect_contains "$kind: RepoDigests has the pulled digest" "$out" "$r/compat/busybox@$digest"

    compat_run_ok "$kind: pull again" "$docker" pull "$r/compat/busybox:1"
    compat_expect_contains "$kind: pull again: up to date" "$out" "Status: Image is up to date for $r/compat/busybox:1"
    compat_run_ok "$kind: pull by digest" "$docker" pull "$r/compat/busybox@$digest"
    compat_expect_eq "$kind: pull by digest: last line" "$(tail -n1 <<<"$out")" "$r/compat/busybox@$digest"

    # Same image under another name: moby prints no layer line at all; then a new image on the
    # same layer: "Already exists" for it.
    compat_run_ok "$kind: pull of the same image from a second repository" "$docker" pull "$r/other/busybox:2"
    compat_expect_not_contains "$kind: same image: no layer lines" "$out" "Pull complete"
    compat_expect_contains "$kind: same image: Downloaded newer image" "$out" "Status: Downloaded newer image for $r/other/busybox:2"
    "$docker" rmi "$r/other/busybox:2" >/dev/null
    "$docker" import -c 'CMD ["echo", "layered"]' "$work/rootfs.tar" "$r/layered/img:1" >/dev/null
    "$docker" push "$r/layered/img:1" >/dev/null 2>&1
    "$docker" rmi "$r/layered/img:1" >/dev/null
    compat_run_ok "$kind: pull of another image on a layer we have" "$docker" pull "$r/layered/img:1"
    compat_expect_contains "$kind: shared layer: Already exists" "$out" "Already exists"

    "$docker" rmi "$r/other/busybox:2" >/dev/null
    compat_run_ok "$kind: run of an image not pulled yet" "$docker" run --rm "$r/other/busybox:2" echo pulled-by-run
    compat_expect_contains "$kind: run pulls it: Unable to find" "$out" "Unable to find image '$r/other/busybox:2' locally"
    compat_expect_contains "$kind: run pulls it: the output" "$out" "pulled-by-run"

    compat_run_fails "$kind: pull of a missing tag" "manifest for $r/compat/busybox:nope not found" \
        "$docker" pull "$r/compat/busybox:nope"
    compat_expect_eq "$kind: missing tag: exit 1" "$rc" 1
    compat_run_fails "$kind: pull of a missing repository" "not found" "$docker" pull "$r/nosuch/repo:1"

    # The berth CLI, the same operations.
    if [[ -x "$berth" ]]; then
        "$docker" tag "$r/compat/busybox:1" "$r/viaberth/busybox:3"
        compat_run_ok "$kind: berth push" "$berth" push "$r/viaberth/busybox:3"
        compat_expect_match "$kind: berth push: digest line" "$out" "3: digest: sha256:[0-9a-f]{64} size: [0-9]+"
        "$docker" rmi "$r/viaberth/busybox:3" >/dev/null
        compat_run_ok "$kind: berth pull" "$berth" pull "$r/viaberth/busybox:3"
        compat_expect_eq "$kind: berth pull: last line" "$(tail -n1 <<<"$out")" "$r/viaberth/busybox:3"
    else
        compat_skipped "$kind: berth CLI" "not built ($berth)"
    fi

    # With htpasswd auth.
    compat_registry_start "$kind" "$kind-auth" "$work" "$work/htpasswd" || { compat_bad "$kind: auth registry starts"; return; }
    r=$REG_ADDR
    "$docker" tag "$(docker_image_any)" "$r/private/busybox:1"
    compat_run_fails "$kind: push without login" "no basic auth credentials" "$docker" push "$r/private/busybox:1"
    compat_run_fails "$kind: login with a wrong password" "unauthorized" \
        "$docker" login -u compat -p wrong "$r"
    compat_run_ok "$kind: login" sh -c "echo s3cret | '$docker' login -u compat --password-stdin '$r'"
    compat_expect_contains "$kind: login: Login Succeeded" "$out" "Login Succeeded"
    compat_expect_contains "$kind: config.json has the registry" "$(cat "$DOCKER_CONFIG/config.json")" "\"$r\""
    compat_run_ok "$kind: push with credentials" "$docker" push "$r/private/busybox:1"
    "$docker" rmi "$r/private/busybox:1" >/dev/null
    compat_run_ok "$kind: pull with credentials" "$docker" pull "$r/private/busybox:1"
    if [[ -x "$berth" ]]; then
        "$docker" rmi "$r/private/busybox:1" >/dev/null
        compat_run_ok "$kind: berth pull with docker's stored credentials" "$berth" pull "$r/private/busybox:1"
    fi
    compat_run_ok "$kind: logout" "$docker" logout "$r"
    compat_expect_contains "$kind: logout message" "$out" "Removing login credentials for $r"
    "$docker" rmi "$r/private/busybox:1" >/dev/null 2>&1
    compat_run_fails "$kind: pull after logout" "no basic auth credentials" "$docker" pull "$r/private/busybox:1"
}

# docker_image_any: an image ID that is in the store (the first one listed).
docker_image_any() { "$docker" images -q | head -n1; }

scenario distribution
# A fresh start for the second registry: only busybox:latest holds the layer again.
"$docker" rmi -f $("$docker" images -q | sort -u) >/dev/null 2>&1
compat_busybox_image "$docker" "$work" >/dev/null || compat_bad "import busybox again"
scenario berth

kill "$events_pid" 2>/dev/null
wait "$events_pid" 2>/dev/null
ev=$(cat "$work/events")
compat_expect_line "events: pull" "$ev" "image pull 127\.0\.0\.1:[0-9]+/compat/busybox:1"
compat_expect_line "events: push" "$ev" "image push 127\.0\.0\.1:[0-9]+/compat/busybox:1"

# berthd's own registry (--registry-listen), over its store: a daemon pushes to and pulls from
# itself; the port is free, the network namespace being the daemon's own.
if [[ "$COMPAT_KIND" == berthd ]]; then
    COMPAT_DAEMON_ARGS="--registry-listen 127.0.0.1:5000" compat_daemon_start berthd ||
        { compat_bad "berthd --registry-listen starts"; compat_summary registry_docker_cli_test; exit 1; }
    nsenter -t "$COMPAT_PID" -n -- ip link set lo up
    export DOCKER_HOST=$COMPAT_HOST
    compat_busybox_image "$docker" "$work" >/dev/null
    "$docker" tag busybox:latest 127.0.0.1:5000/self/busybox:1
    compat_run_ok "embedded: push to the daemon's own registry" "$docker" push 127.0.0.1:5000/self/busybox:1
    compat_expect_match "embedded: push digest line" "$out" "1: digest: sha256:[0-9a-f]{64}"
    "$docker" rmi 127.0.0.1:5000/self/busybox:1 busybox:latest >/dev/null
    compat_run_ok "embedded: pull it back" "$docker" pull 127.0.0.1:5000/self/busybox:1
    compat_expect_contains "embedded: pull: Pull complete" "$out" "Pull complete"
    compat_run_ok "embedded: run it" "$docker" run --rm 127.0.0.1:5000/self/busybox:1 echo from-self
    compat_expect_contains "embedded: run output" "$out" "from-self"
    compat_run_ok "embedded: system check is clean" "${BERTH_COMPAT_CLI:-$COMPAT_REPO/build/bin/berth}" system check
fi

compat_summary registry_docker_cli_test
