#!/bin/sh
# Makes a minimal root filesystem from Debian's busybox-static: one static binary, its applet
# links, /etc/passwd and /etc/group. Used by tests, benchmarks and the README demo (our
# machines cannot reach Docker Hub, so images are made locally).
#   make-busybox-rootfs.sh <dir>
set -eu
dir=${1:?usage: make-busybox-rootfs.sh <dir>}
bb=/bin/busybox
[ -x "$bb" ] || { echo "make-busybox-rootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
"$bb" --list >/dev/null 2>&1 || { echo "make-busybox-rootfs: $bb is not busybox" >&2; exit 1; }
mkdir -p "$dir/bin" "$dir/sbin" "$dir/usr/bin" "$dir/usr/sbin" "$dir/etc" "$dir/proc" "$dir/sys" \
         "$dir/dev" "$dir/tmp" "$dir/root" "$dir/home" "$dir/var"
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
# Busybox's own shell makes the links: its ln applet runs without an exec, a few times faster
# than one coreutils ln per applet (tests make a rootfs per test case).
(cd "$dir/bin" && "$bb" sh -c 'for applet in $("$1" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$applet"
done' sh "$bb")
cat > "$dir/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$dir/etc/group" <<'GR'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GR
echo "berth" > "$dir/etc/hostname"
