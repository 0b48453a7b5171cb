#!/usr/bin/env bash
# Packs a root filesystem directory into a one-layer OCI image archive (an OCI image layout in a
# tar), the form `ctr images import` and `docker load` take. Our machines cannot reach a registry,
# so compat tests make their images locally (ARCHITECTURE.md, "Images on a machine with no
# internet"). Only tar, sha256sum and jq: no umoci/skopeo needed.
#   make-oci-image.sh <rootfs dir> <output .tar> <image name, e.g. docker.io/berth/busybox:latest>
#                     [default command, JSON array; default ["/bin/sh"]]
set -euo pipefail

rootfs=${1:?usage: make-oci-image.sh <rootfs> <out.tar> <name:tag> [cmd-json]}
out=${2:?usage: make-oci-image.sh <rootfs> <out.tar> <name:tag> [cmd-json]}
name=${3:?usage: make-oci-image.sh <rootfs> <out.tar> <name:tag> [cmd-json]}
cmd_json=${4:-'["/bin/sh"]'}
[[ -d "$rootfs" ]] || { echo "make-oci-image: $rootfs is not a directory" >&2; exit 1; }
command -v jq >/dev/null || { echo "make-oci-image: jq missing (apt-get install jq)" >&2; exit 1; }

case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    armv7l) arch=arm ;;
    *) arch=$(uname -m) ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-oci-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
layout=$work/layout
mkdir -p "$layout/blobs/sha256"

# Adds file $1 as a blob; prints "sha256:<hex> <size>".
add_blob() {
    local hex size
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv "$1" "$layout/blobs/sha256/$hex"
    echo "sha256:$hex $size"
}

# Uncompressed layer: its digest is also its diff_id. Sorted, fixed owner and time, so the same
# rootfs always gives the same digest.
tar -C "$rootfs" --sort=name --numeric-owner --owner=0 --group=0 --mtime='2000-01-01 00:00:00Z' \
    -cf "$work/layer.tar" .
read -r layer_digest layer_size < <(add_blob "$work/layer.tar")

jq -n --arg arch "$arch" --arg diff "$layer_digest" --argjson cmd "$cmd_json" '{
    architecture: $arch, os: "linux", created: "2000-01-01T00:00:00Z",
    config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             Cmd: $cmd, WorkingDir: "/"},
    rootfs: {type: "layers", diff_ids: [$diff]},
    history: [{created: "2000-01-01T00:00:00Z", created_by: "tests/compat/make-oci-image.sh"}]
}' >"$work/config.json"
read -r config_digest config_size < <(add_blob "$work/config.json")

jq -n --arg cd "$config_digest" --argjson cs "$config_size" \
      --arg ld "$layer_digest" --argjson ls "$layer_size" '{
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $ld, size: $ls}]
}' >"$work/manifest.json"
read -r manifest_digest manifest_size < <(add_blob "$work/manifest.json")

# containerd names the image from io.containerd.image.name; other tools read ref.name (the tag).
jq -n --arg md "$manifest_digest" --argjson ms "$manifest_size" --arg arch "$arch" \
      --arg name "$name" --arg tag "${name##*:}" '{
    schemaVersion: 2,
    manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
        platform: {architecture: $arch, os: "linux"},
        annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": $tag}
    }]
}' >"$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

tar -C "$layout" --sort=name --numeric-owner --owner=0 --group=0 -cf "$out" oci-layout index.json blobs
echo "make-oci-image: $out: $name ($manifest_digest, layer $layer_size bytes)"
