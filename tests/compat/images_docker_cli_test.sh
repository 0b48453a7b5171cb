#!/usr/bin/env bash
# Compat test: the real docker CLI 28 drives a private daemon's image commands: import (-c, -m,
# stdin), images (table, -q, --format, filters), image inspect, history, tag, save, rmi
# (tag, ID, conflict, force), load (round trip), image prune, system df, version, info.
#
#   images_docker_cli_test.sh
# Environment: BERTH_COMPAT_DAEMON=berthd (default) | dockerd (Debian's dockerd 20.10, the
# reference: every check here passes on it unless marked as a deliberate difference),
# BERTH_COMPAT_DOCKER_CLI (default: the docker 28.x first found), and lib/daemon.sh's variables.
# Output: one "ok"/"FAIL"/"skip" line per check; exit 0 all passed, 1 a failure, 77 skipped.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib/daemon.sh
source "$here/lib/daemon.sh"

compat_preflight
docker=$(compat_docker_cli) || compat_skip_or_fail "docker CLI 28.x not found (BERTH_COMPAT_DOCKER_CLI)"

work=$(mktemp -d /tmp/berth-test-compat-cli.XXXXXX)
compat_cleanup_hook() { rm -rf "$work"; }
compat_daemon_init
compat_daemon_start "${BERTH_COMPAT_DAEMON:-berthd}" || { echo "FAIL: daemon start"; exit 1; }
export DOCKER_HOST=$COMPAT_HOST DOCKER_CONFIG=$work/docker-config
unset DOCKER_API_VERSION DOCKER_CONTEXT
is_berthd() { [[ "$COMPAT_KIND" == berthd ]]; }
echo "docker CLI: $docker ($("$docker" version --format '{{.Client.Version}}' 2>/dev/null))"

bash "$here/make-rootfs-tar.sh" "$work/rootfs.tar" || { echo "FAIL: make-rootfs-tar"; exit 1; }
diff_id=sha256:$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)

# --- version, info --------------------------------------------------------------------------
compat_run_ok "version" "$docker" version
compat_run_ok "version --format Server.APIVersion" "$docker" version --format '{{.Server.APIVersion}}'
api=$out
if is_berthd; then
    compat_expect_eq "server API version is 1.44" "$api" 1.44
    # docker-api.md: minimum 1.24 (CLI 28's legacy paths work down to it); lower is fine
    # (skopeo's docker-daemon: transport always speaks 1.22).
    compat_run "$docker" version --format '{{.Server.MinAPIVersion}}'
    compat_expect_match "server min API version <= 1.24" "$out" '^1\.(1[0-9]|2[0-4])$'
else
    compat_expect_match "server API version" "$api" '^1\.[0-9]+$'
fi
compat_run "$docker" version --format '{{.Server.Os}}/{{.Server.Arch}}'
compat_expect_eq "server os/arch" "$out" "linux/$(dpkg --print-architecture 2>/dev/null || echo amd64)"
compat_run_ok "info" "$docker" info
compat_run "$docker" info --format '{{.Images}} {{.Containers}} {{.OSType}} {{.NCPU}}'
compat_expect_eq "info on a fresh daemon: 0 images, 0 containers, linux, NCPU" "$out" "0 0 linux $(nproc)"
compat_run "$docker" info --format '{{.DockerRootDir}}'
compat_expect_eq "info DockerRootDir is --data-root" "$out" "$COMPAT_DATA_ROOT"

# --- import ------------------------------------------------------------------------------------
compat_run_ok "import -c ... -m ... file repo:tag" "$docker" import \
    -c 'ENV FOO=bar' -c 'CMD ["/bin/sh","-c","echo hi"]' -c 'LABEL com.example.t=one' \
    -c 'WORKDIR /tmp' -c 'USER daemon' -c 'EXPOSE 8080/tcp' -c 'VOLUME /data' \
    -c 'ENTRYPOINT ["/bin/busybox"]' -m 'imported by compat' "$work/rootfs.tar" compat/busybox:1
compat_expect_match "import prints the image ID" "$out" '^sha256:[0-9a-f]{64}$'
id=$out
id12=${id#sha256:}
id12=${id12:0:12}
compat_run "$docker" import - compat/stdin <"$work/rootfs.tar"
if ((rc == 0)) && [[ "$out" =~ ^sha256:[0-9a-f]{64}$ ]]; then compat_ok "import - (stdin)"; else
    compat_bad "import - (stdin)" "exit $rc" "$out"; fi
stdin_id=$out

# --- images ----------------------------------------------------------------------------------
compat_run_ok "images" "$docker" images
compat_expect_match "images: table header" "$(head -1 <<<"$out")" \
    '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$'
compat_expect_line "images: row of compat/busybox:1" "$out" \
    "compat/busybox +1 +$id12 +.+ +[0-9.]+[kMG]?B"
compat_run_ok "images -q" "$docker" images -q
compat_expect_contains "images -q lists the short ID" "$out" "$id12"
compat_run "$docker" images --no-trunc -q
compat_expect_contains "images --no-trunc -q lists the full ID" "$out" "$id"
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
compat_expect_eq "images --format" "$(sort <<<"$out")" \
    "$(printf 'compat/busybox:1 %s\ncompat/stdin:latest %s' "$id12" "${stdin_id:7:12}")"
compat_run "$docker" images --format json compat/busybox
compat_expect_eq "images --format json (Repository, Tag, ID)" \
    "$(jq -r '[.Repository, .Tag, .ID] | join(" ")' <<<"$out" 2>&1)" "compat/busybox 1 $id12"
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}}' --filter reference=compat/busybox
compat_expect_eq "images --filter reference=compat/busybox" "$out" "compat/busybox:1"
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=compat/*'
compat_expect_eq "images --filter reference=compat/*" "$(sort <<<"$out")" \
    "$(printf 'compat/busybox:1\ncompat/stdin:latest')"
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}}' --filter reference=compat/busybox:1
compat_expect_eq "images --filter reference=name:tag" "$out" "compat/busybox:1"
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}}' --filter label=com.example.t=one
compat_expect_eq "images --filter label=k=v" "$out" "compat/busybox:1"
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}}' --filter label=com.example.t
compat_expect_eq "images --filter label=k" "$out" "compat/busybox:1"
compat_run "$docker" images -q --filter dangling=true
compat_expect_eq "images --filter dangling=true: none yet" "$out" ""
compat_run "$docker" images compat/busybox --format '{{.Tag}}'
compat_expect_eq "images <repository>" "$out" "1"

# --- image inspect ---------------------------------------------------------------------------
compat_run_ok "image inspect" "$docker" image inspect compat/busybox:1
inspect=$out
compat_run "$docker" image inspect --format '{{.Id}}' compat/busybox:1
compat_expect_eq "inspect Id = import's ID" "$out" "$id"
compat_run "$docker" image inspect --format '{{.Id}}' compat/busybox:1
compat_expect_eq "inspect Id is stable" "$out" "$id"
for ref in "$id12" "$id" "docker.io/compat/busybox:1"; do
    compat_run "$docker" image inspect --format '{{.Id}}' "$ref"
    compat_expect_eq "inspect by $ref" "$out" "$id"
done
q() { jq -c "$1" <<<"$inspect" 2>&1; }
compat_expect_eq "inspect RepoTags" "$(q '.[0].RepoTags')" '["compat/busybox:1"]'
compat_expect_eq "inspect Comment (-m)" "$(q '.[0].Comment')" '"imported by compat"'
compat_expect_eq "inspect Config.Env (ENV)" "$(q '.[0].Config.Env')" '["FOO=bar"]'
compat_expect_eq "inspect Config.Cmd (CMD)" "$(q '.[0].Config.Cmd')" '["/bin/sh","-c","echo hi"]'
compat_expect_eq "inspect Config.Entrypoint (ENTRYPOINT)" "$(q '.[0].Config.Entrypoint')" '["/bin/busybox"]'
compat_expect_eq "inspect Config.Labels (LABEL)" "$(q '.[0].Config.Labels')" '{"com.example.t":"one"}'
compat_expect_eq "inspect Config.WorkingDir (WORKDIR)" "$(q '.[0].Config.WorkingDir')" '"/tmp"'
compat_expect_eq "inspect Config.User (USER)" "$(q '.[0].Config.User')" '"daemon"'
compat_expect_eq "inspect Config.ExposedPorts (EXPOSE)" "$(q '.[0].Config.ExposedPorts')" '{"8080/tcp":{}}'
compat_expect_eq "inspect Config.Volumes (VOLUME)" "$(q '.[0].Config.Volumes')" '{"/data":{}}'
compat_expect_eq "inspect RootFS.Type" "$(q '.[0].RootFS.Type')" '"layers"'
compat_expect_eq "inspect RootFS.Layers = [sha256 of the imported tar]" \
    "$(q '.[0].RootFS.Layers')" "[\"$diff_id\"]"
compat_expect_eq "inspect ContainerConfig is an object (compose reads it)" \
    "$(q '.[0].ContainerConfig | type')" '"object"'
compat_expect_eq "inspect Os/Architecture" "$(q '[.[0].Os, .[0].Architecture]')" \
    "[\"linux\",\"$(dpkg --print-architecture 2>/dev/null || echo amd64)\"]"
compat_expect_match "inspect Created is RFC 3339" "$(q '.[0].Created')" \
    '^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9:]+)"$'
compat_expect_match "inspect Size > 1 MB" "$(q '.[0].Size')" '^[1-9][0-9]{6,}$'
compat_expect_eq "inspect RepoDigests is an array" "$(q '.[0].RepoDigests | type')" '"array"'
compat_run "$docker" inspect --format '{{.Id}}' compat/busybox:1
compat_expect_eq "docker inspect (any object) finds the image" "$out" "$id"
compat_run_fails "image inspect of a missing image: No such image" "no such image" \
    "$docker" image inspect compat/nosuch:tag

# --- history ---------------------------------------------------------------------------------
compat_run_ok "history" "$docker" history compat/busybox:1
compat_expect_match "history: table header" "$(head -1 <<<"$out")" \
    '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$'
compat_expect_match "history: one row, the image, with the comment" "$(sed 1d <<<"$out")" \
    "^$id12 +.*imported by compat\$"
compat_run "$docker" history --no-trunc --format '{{.ID}}|{{.Comment}}' compat/busybox:1
compat_expect_eq "history --no-trunc --format" "$out" "$id|imported by compat"
compat_run "$docker" history -q compat/stdin
compat_expect_eq "history -q" "$out" "${stdin_id:7:12}"

# --- tag -------------------------------------------------------------------------------------
compat_run_ok "tag name:tag new:tag" "$docker" tag compat/busybox:1 compat/other:2
compat_run_ok "tag ID new (default :latest)" "$docker" tag "$id12" compat/third
compat_run "$docker" image inspect --format '{{json .RepoTags}}' "$id"
compat_expect_eq "RepoTags after tag" "$(jq -c 'sort' <<<"$out" 2>&1)" \
    '["compat/busybox:1","compat/other:2","compat/third:latest"]'
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}} {{.ID}}' --filter reference=compat/other
compat_expect_eq "images lists the new tag" "$out" "compat/other:2 $id12"
compat_run_fails "tag of a missing image: No such image" "no such image" \
    "$docker" tag compat/nosuch:1 compat/x:1

# --- save --------------------------------------------------------------------------------------
compat_run_ok "save -o" "$docker" save -o "$work/save.tar" compat/busybox:1
compat_run_ok "tar -tf of the save" tar -tf "$work/save.tar"
listing=$out
if is_berthd; then
    for f in index.json manifest.json oci-layout; do
        compat_expect_line "save lists $f" "$listing" "(\./)?$f"
    done
    compat_expect_line "save lists blobs/sha256/<hex>" "$listing" "(\./)?blobs/sha256/[0-9a-f]{64}"
else
    compat_skipped "save lists index.json, oci-layout, blobs/sha256/" \
        "dockerd 20.10 writes the legacy docker-archive layout; an OCI layout inside came with moby 25"
    compat_expect_line "save lists manifest.json" "$listing" "(\./)?manifest\.json"
fi
# What every docker-archive reader uses: manifest.json → config (whose sha256 is the ID) and
# layers (whose sha256 is the diff-id).
mkdir -p "$work/save"
tar -C "$work/save" -xf "$work/save.tar"
manifest=$(cat "$work/save/manifest.json" 2>&1)
compat_expect_eq "save manifest.json RepoTags" "$(jq -c '.[0].RepoTags' <<<"$manifest" 2>&1)" \
    '["compat/busybox:1"]'
cfg=$(jq -r '.[0].Config' <<<"$manifest" 2>/dev/null)
compat_expect_eq "save: sha256 of the config file is the image ID" \
    "sha256:$(sha256sum "$work/save/$cfg" 2>&1 | cut -d' ' -f1)" "$id"
layer=$(jq -r '.[0].Layers[0]' <<<"$manifest" 2>/dev/null)
# A writer may store the layer compressed (the format allows gzip and zstd); the diff-id is the
# digest of the uncompressed tar either way.
uncompressed() {
    case "$(head -c4 "$1" | od -An -tx1 | tr -d ' \n')" in
        1f8b*) gzip -dc "$1" ;;
        28b52ffd) zstd -dc "$1" ;;
        *) cat "$1" ;;
    esac
}
compat_expect_eq "save: sha256 of the (uncompressed) layer file is the diff-id" \
    "sha256:$(uncompressed "$work/save/$layer" 2>&1 | sha256sum | cut -d' ' -f1)" "$diff_id"
if is_berthd; then
    compat_expect_eq "save: oci-layout version" \
        "$(jq -r .imageLayoutVersion "$work/save/oci-layout" 2>&1)" "1.0.0"
    idx_manifest=$(jq -r '.manifests[0].digest' "$work/save/index.json" 2>/dev/null)
    compat_expect_match "save: index.json names a manifest blob in the tar" \
        "$(ls "$work/save/blobs/sha256/${idx_manifest#sha256:}" 2>&1)" '/blobs/sha256/[0-9a-f]{64}$'
fi
compat_run_ok "save to stdout" sh -c "'$docker' save compat/busybox:1 >'$work/save2.tar'"
compat_expect_eq "save to stdout lists the same files as save -o" \
    "$(tar -tf "$work/save2.tar" 2>&1 | sort)" "$(sort <<<"$listing")"
compat_run_ok "save of two images" "$docker" save -o "$work/multi.tar" compat/busybox:1 compat/stdin
compat_expect_eq "save of two images: manifest.json RepoTags" \
    "$(tar -xOf "$work/multi.tar" manifest.json 2>&1 | jq -c '[.[].RepoTags[]] | sort' 2>&1)" \
    '["compat/busybox:1","compat/stdin:latest"]'

# --- rmi -------------------------------------------------------------------------------------
compat_run_ok "rmi tag" "$docker" rmi compat/third
compat_expect_eq "rmi tag: prints Untagged" "$out" "Untagged: compat/third:latest"
compat_run "$docker" image inspect --format '{{.Id}}' compat/busybox:1
compat_expect_eq "rmi tag: the image stays" "$out" "$id"
compat_run_fails "rmi ID of an image with two tags: conflict, must be forced" "must be forced" \
    "$docker" rmi "$id12"
compat_run "$docker" image inspect --format '{{json .RepoTags}}' "$id"
compat_expect_eq "rmi conflict: nothing removed" "$(jq -c 'sort' <<<"$out" 2>&1)" \
    '["compat/busybox:1","compat/other:2"]'
compat_run_ok "rmi -f ID" "$docker" rmi -f "$id12"
compat_expect_eq "rmi -f: Untagged both tags, Deleted the ID" \
    "$(grep -E '^(Untagged|Deleted):' <<<"$out" | grep -v "^Deleted: $diff_id" | sort)" \
    "$(printf 'Deleted: %s\nUntagged: compat/busybox:1\nUntagged: compat/other:2' "$id")"
compat_run_fails "rmi -f: the image is gone" "no such image" "$docker" image inspect "$id"
compat_run_fails "rmi of a missing image: No such image" "no such image" "$docker" rmi compat/nosuch:1

# --- load ------------------------------------------------------------------------------------
compat_run_ok "load -i" "$docker" load -i "$work/save.tar"
compat_expect_eq "load -i prints Loaded image" "$out" "Loaded image: compat/busybox:1"
compat_run "$docker" image inspect --format '{{.Id}} {{json .RepoTags}}' compat/busybox:1
compat_expect_eq "load round trip: same ID and tag" "$out" "$id [\"compat/busybox:1\"]"
compat_run "$docker" image inspect --format '{{json .Config.Env}} {{json .RootFS.Layers}}' compat/busybox:1
compat_expect_eq "load round trip: config and layers" "$out" "[\"FOO=bar\"] [\"$diff_id\"]"
compat_run_ok "load from stdin (already present)" sh -c "'$docker' load <'$work/save2.tar'"
compat_expect_eq "load from stdin prints Loaded image" "$out" "Loaded image: compat/busybox:1"
compat_run_ok "rmi -f both before loading two" "$docker" rmi -f compat/busybox:1 compat/stdin
compat_run_ok "load of two images" "$docker" load -i "$work/multi.tar"
compat_expect_eq "load of two images: both Loaded" "$(sort <<<"$out")" \
    "$(printf 'Loaded image: compat/busybox:1\nLoaded image: compat/stdin:latest')"
compat_run "$docker" images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}'
compat_expect_eq "load of two images: same IDs" "$(sort <<<"$out")" \
    "$(printf 'compat/busybox:1 %s\ncompat/stdin:latest %s' "$id" "$stdin_id")"
compat_run_fails "load of a non-tar fails" "" sh -c "echo nonsense | '$docker' load"

# --- dangling images and prune ---------------------------------------------------------------
compat_run_ok "import without a name (dangling)" "$docker" import "$work/rootfs.tar"
dangling=$out
compat_run_ok "import over an existing tag" "$docker" import -m second "$work/rootfs.tar" compat/stdin
moved_from=$stdin_id
compat_run "$docker" images --no-trunc -q --filter dangling=true
compat_expect_eq "images --filter dangling=true" "$(sort <<<"$out")" \
    "$(printf '%s\n%s' "$dangling" "$moved_from" | sort)"
compat_run "$docker" images --format '{{.Repository}} {{.Tag}}' --filter dangling=true
compat_expect_eq "dangling images show as <none> <none>" "$out" "$(printf '<none> <none>\n<none> <none>')"
compat_run "$docker" images --no-trunc -q --filter dangling=false
compat_expect_eq "images --filter dangling=false" "$(sort -u <<<"$out" | wc -l)" 2
compat_run_ok "image prune -f" "$docker" image prune -f
prune_out=$out
for d in "$dangling" "$moved_from"; do
    compat_expect_contains "image prune -f deletes ${d:7:12}" "$prune_out" "deleted: $d"
done
compat_expect_contains "image prune -f prints the reclaimed space" "$prune_out" "Total reclaimed space:"
compat_run "$docker" images --format '{{.Repository}}:{{.Tag}}'
compat_expect_eq "image prune -f keeps the tagged images" "$(sort <<<"$out")" \
    "$(printf 'compat/busybox:1\ncompat/stdin:latest')"
compat_run_ok "image prune -f with nothing to prune" "$docker" image prune -f
compat_expect_contains "image prune -f with nothing to prune says 0B" "$out" "Total reclaimed space: 0B"

# --- system df, info -------------------------------------------------------------------------
compat_run_ok "system df" "$docker" system df
compat_expect_match "system df: table header" "$(head -1 <<<"$out")" \
    '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$'
compat_run "$docker" system df --format '{{.Type}}={{.TotalCount}}/{{.Active}}'
compat_expect_eq "system df --format: counts" "$(grep -E '^(Images|Containers)=' <<<"$out")" \
    "$(printf 'Images=2/0\nContainers=0/0')"
compat_run_ok "system df -v" "$docker" system df -v
compat_expect_line "system df -v lists compat/busybox" "$out" "compat/busybox +1 +$id12 .*"
compat_run "$docker" info --format '{{.Images}}'
compat_expect_eq "info Images" "$out" 2

# --- prune -a --------------------------------------------------------------------------------
compat_run_ok "image prune -a -f" "$docker" image prune -a -f
compat_expect_contains "image prune -a -f untags" "$out" "untagged: compat/busybox:1"
compat_run "$docker" images -q
compat_expect_eq "image prune -a -f leaves no image" "$out" ""

compat_summary "images_docker_cli_test"
