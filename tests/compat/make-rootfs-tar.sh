#!/usr/bin/env bash
# Makes a busybox root filesystem tarball, the input of `berth import` / `docker import` in the
# compat tests and the README demo (our machines cannot reach Docker Hub: ARCHITECTURE.md,
# "Images on a machine with no internet"). The tree comes from tests/support/make-busybox-rootfs.sh
# (Debian's busybox-static: /bin/busybox, its applet links, /etc/passwd, /etc/group); the tar is
# made reproducible (sorted, owner 0:0, fixed mtime), so the same busybox gives the same bytes and
# therefore the same layer diff-id every time.
#
#   make-rootfs-tar.sh <out.tar> [name=content ...]
# Each extra argument adds a small file at /name (e.g. etc/marker=one), to make distinct layers.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: make-rootfs-tar.sh <out.tar> [path=content ...]}
shift

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-test-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
sh "$here/../support/make-busybox-rootfs.sh" "$work/rootfs"
for extra in "$@"; do
    path=${extra%%=*}
    [[ "$path" != "$extra" && -n "$path" && "$path" != /* && "$path" != *..* ]] ||
        { echo "make-rootfs-tar: bad extra file '$extra' (want relative/path=content)" >&2; exit 1; }
    mkdir -p "$work/rootfs/$(dirname "$path")"
    printf '%s\n' "${extra#*=}" >"$work/rootfs/$path"
done
tar -C "$work/rootfs" --sort=name --numeric-owner --owner=0 --group=0 \
    --mtime="2000-01-01 00:00:00Z" \
    -cf "$out.tmp" .
mv "$out.tmp" "$out"
