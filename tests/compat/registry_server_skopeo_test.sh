#!/usr/bin/env bash
# Compat test: skopeo (Debian's 1.9) against `berth-registry serve`.
#   - copies a one-layer OCI image (make-rootfs-tar.sh + make-oci-image.sh) into the registry
#     (docker://127.0.0.1:PORT/..., --dest-tls-verify=false) and back out to an oci: directory;
#     the manifest digest and every blob survive the round trip unchanged;
#   - inspect, list-tags, a copy to a second repository (the blobs are stored once), delete;
#   - with --htpasswd: --dest-creds with the right password works, a wrong one is refused (401);
#   - with --tls-cert/--tls-key: HTTPS answers, plain HTTP does not, skopeo copies over TLS;
#   - SIGTERM stops the server with status 0.
# Environment: BERTH_COMPAT_REGISTRY (default <repo>/build/bin/berth-registry).
# Output: one "ok"/"FAIL" line per check; exit 0 all passed, 1 a failure, 77 skipped.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
reg=${BERTH_COMPAT_REGISTRY:-$repo/build/bin/berth-registry}
skip() {
    if [[ "${CI:-}" == true ]]; then echo "FAIL: $*"; exit 1; fi
    echo "SKIPPED: $*"
    exit 77
}
[[ -x "$reg" ]] || skip "berth-registry not built ($reg)"
for tool in skopeo jq htpasswd openssl curl tar sha256sum timeout; do
    command -v "$tool" >/dev/null || skip "$tool not installed"
done

work=$(mktemp -d /tmp/berth-test-compat-regserver.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
failures=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() {  # check <description> <command...>: ok when the command succeeds
    local what=$1
    shift
    if out=$("$@" 2>&1); then ok "$what"; return 0; fi
    fail "$what"
    echo "$out" | tail -n 20 | sed 's/^/    /'
    return 1
}
# --insecure-policy: the signature policy is not what is tested.
sk=(timeout 120 skopeo --insecure-policy)

# start_registry <name> [serve options...]: starts a server, sets addr and pid.
start_registry() {
    local name=$1
    shift
    "$reg" serve --listen 127.0.0.1:0 --data-root "$work/$name" --log-level debug "$@" \
        >"$work/$name.addr" 2>"$work/$name.log" &
    pid=$!
    pids+=("$pid")
    local i
    for i in $(seq 100); do
        [[ -s "$work/$name.addr" ]] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    addr=$(head -n1 "$work/$name.addr")
    [[ -n "$addr" ]] || { echo "FAIL: berth-registry $name did not start"; cat "$work/$name.log"; exit 1; }
}

# The image: busybox rootfs, one layer.
bash "$here/make-rootfs-tar.sh" "$work/rootfs.tar" etc/marker=regserver >/dev/null ||
    { echo "FAIL: make-rootfs-tar"; exit 1; }
mkdir "$work/rootfs" && tar -C "$work/rootfs" -xf "$work/rootfs.tar"
bash "$here/make-oci-image.sh" "$work/rootfs" "$work/image.tar" compat/regserver:1 >/dev/null ||
    { echo "FAIL: make-oci-image"; exit 1; }
mkdir "$work/image" && tar -C "$work/image" -xf "$work/image.tar"
src_digest=$(jq -r '.manifests[0].digest' "$work/image/index.json")
echo "skopeo: $(skopeo --version); image $src_digest"

# ---- plain, no auth ----
start_registry plain
plain_pid=$pid
# Without --preserve-digests skopeo gzips the layer while it sends it (a chunked PATCH of
# unknown length): the registry's digest then must survive the way out. First, while the
# registry is empty (skopeo would reuse an uncompressed layer it knows the registry has).
check "copy with compression on the fly" "${sk[@]}" copy --dest-tls-verify=false \
    "oci-archive:$work/image.tar" "docker://$addr/compat/gz:1"
gz_digest=$("${sk[@]}" inspect --tls-verify=false "docker://$addr/compat/gz:1" | jq -r .Digest)
check "copy the compressed image out" "${sk[@]}" copy --src-tls-verify=false \
    "docker://$addr/compat/gz:1" "oci:$work/out-gz:1"
[[ -n "$gz_digest" && $(jq -r '.manifests[0].digest' "$work/out-gz/index.json") == "$gz_digest" ]] &&
    ok "compressed image round trip ($gz_digest)" ||
    fail "compressed image digest: registry $gz_digest, copied out $(cat "$work/out-gz/index.json")"
check "copy oci-archive -> registry" "${sk[@]}" copy --preserve-digests --dest-tls-verify=false \
    "oci-archive:$work/image.tar" "docker://$addr/compat/regserver:1"
if check "inspect" "${sk[@]}" inspect --tls-verify=false "docker://$addr/compat/regserver:1"; then
    got=$(jq -r .Digest <<<"$out")
    [[ "$got" == "$src_digest" ]] && ok "inspect digest $got" ||
        fail "inspect digest $got, want $src_digest"
fi
check "copy registry -> oci dir" "${sk[@]}" copy --preserve-digests --src-tls-verify=false \
    "docker://$addr/compat/regserver:1" "oci:$work/out:1"
out_digest=$(jq -r '.manifests[0].digest' "$work/out/index.json" 2>/dev/null)
[[ "$out_digest" == "$src_digest" ]] && ok "round trip keeps the manifest digest" ||
    fail "round trip digest $out_digest, want $src_digest"
same=1
for b in "$work"/image/blobs/sha256/*; do
    cmp -s "$b" "$work/out/blobs/sha256/$(basename "$b")" || same=0
done
((same)) && ok "round trip keeps every blob" || fail "blobs differ after the round trip"
if check "list-tags" "${sk[@]}" list-tags --tls-verify=false "docker://$addr/compat/regserver"; then
    [[ $(jq -r '.Tags | join(",")' <<<"$out") == 1 ]] && ok "tags are [1]" || fail "tags: $out"
fi
before=$(find "$work/plain/content" -type f | wc -l)
# (compat/gz's layers are other bytes: the count is taken after it.)
check "copy to a second repository" "${sk[@]}" copy --preserve-digests --src-tls-verify=false \
    --dest-tls-verify=false "docker://$addr/compat/regserver:1" "docker://$addr/other/copy:2"
after=$(find "$work/plain/content" -type f | wc -l)
[[ "$before" == "$after" ]] && ok "blobs stored once ($after files)" ||
    fail "content files $before -> $after after a copy to a second repository"
check "delete" "${sk[@]}" delete --tls-verify=false "docker://$addr/compat/regserver:1"
if "${sk[@]}" inspect --tls-verify=false "docker://$addr/compat/regserver:1" >/dev/null 2>&1; then
    fail "deleted image still there"
else
    ok "deleted image is gone"
fi
check "second repository unaffected" "${sk[@]}" inspect --tls-verify=false \
    "docker://$addr/other/copy:2"
kill -TERM "$plain_pid"
wait "$plain_pid"
rc=$?
[[ $rc == 0 ]] && ok "SIGTERM stops the server (status 0)" || fail "exit status $rc after SIGTERM"

# ---- htpasswd ----
htpasswd -Bbc "$work/htpasswd" berth s3cret 2>/dev/null
start_registry auth --htpasswd "$work/htpasswd"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v2/")
[[ "$code" == 401 ]] && ok "no credentials: 401" || fail "no credentials: $code"
check "copy with --dest-creds" "${sk[@]}" copy --preserve-digests --dest-tls-verify=false --dest-creds berth:s3cret \
    "oci-archive:$work/image.tar" "docker://$addr/auth/img:1"
if "${sk[@]}" copy --preserve-digests --dest-tls-verify=false --dest-creds berth:wrong \
    "oci-archive:$work/image.tar" "docker://$addr/auth/img:2" >"$work/wrong.out" 2>&1; then
    fail "wrong password accepted"
else
    grep -qiE 'unauthorized|401|authentication required' "$work/wrong.out" &&
        ok "wrong password refused" || { fail "wrong password: unexpected error"; cat "$work/wrong.out"; }
fi
if check "inspect with --creds" "${sk[@]}" inspect --tls-verify=false --creds berth:s3cret \
    "docker://$addr/auth/img:1"; then
    [[ $(jq -r .Digest <<<"$out") == "$src_digest" ]] && ok "digest with auth" ||
        fail "digest with auth"
fi

# ---- TLS ----
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" \
    >/dev/null 2>&1 || { echo "FAIL: openssl"; exit 1; }
start_registry tls --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/cert.pem" "https://$addr/v2/")
[[ "$code" == 200 ]] && ok "HTTPS /v2/: 200" || fail "HTTPS /v2/: $code"
mkdir -p "$work/certs.d/$addr" && cp "$work/cert.pem" "$work/certs.d/$addr/ca.crt"
check "copy over TLS (verified)" "${sk[@]}" copy --preserve-digests --dest-cert-dir "$work/certs.d/$addr" \
    "oci-archive:$work/image.tar" "docker://$addr/tls/img:1"
check "copy out over TLS" "${sk[@]}" copy --preserve-digests --src-cert-dir "$work/certs.d/$addr" \
    "docker://$addr/tls/img:1" "oci:$work/out-tls:1"
[[ $(jq -r '.manifests[0].digest' "$work/out-tls/index.json" 2>/dev/null) == "$src_digest" ]] &&
    ok "TLS round trip digest" || fail "TLS round trip digest"

if ((failures)); then
    echo "$failures check(s) failed"
    for f in "$work"/*.log; do echo "== $f"; tail -n 30 "$f"; done
    exit 1
fi
echo "all checks passed"
