# shellcheck shell=bash
# Registries for the compat tests, on top of lib/daemon.sh (source that first). Each one is
# private: its own port on 127.0.0.1, its own storage under the test's temp directory. When a
# daemon is up (COMPAT_PID), the registry runs in the daemon's private network namespace (lib/
# daemon.sh unshares one per daemon; its loopback is brought up here), so the daemon reaches it
# on 127.0.0.1 and nothing of the host's network is touched.
#
#   compat_registry_start <kind> <name> <workdir> [htpasswd-file]
#       kind "distribution": Debian's docker-registry (distribution 2.8) with a config.yml of
#       its own; kind "berth": `berth-registry serve` (BERTH_COMPAT_REGISTRY, default
#       <repo>/build/bin/berth-registry). Sets REG_ADDR (127.0.0.1:PORT) and REG_PID; returns 1
#       (with the log on stderr) when it does not answer /v2/ within 10 s.
#   compat_registries_stop    stops every registry started here (call it from the cleanup hook)
#   compat_htpasswd <file> <user> <password>   writes a bcrypt htpasswd file

compat__registry_pids=()

# compat__in_net <cmd...>: runs a command in the current daemon's network namespace, if any.
compat__in_net() {
    if [[ -n "${COMPAT_PID:-}" ]]; then
        nsenter -t "$COMPAT_PID" -n -- "$@"
    else
        "$@"
    fi
}

compat__free_port() {
    compat__in_net python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

compat_htpasswd() {
    htpasswd -Bbn "$2" "$3" >"$1"
}

compat_registry_start() {
    local kind=$1 name=$2 work=$3 htpasswd=${4:-} port dir log
    dir="$work/registry-$name"
    mkdir -p "$dir/storage"
    # In the daemon's network namespace: nsenter execs the registry (no fork for -n alone), so
    # REG_PID is the registry's own PID and the cleanup's kill reaches it.
    local net=()
    if [[ -n "${COMPAT_PID:-}" ]]; then
        nsenter -t "$COMPAT_PID" -n -- ip link set lo up
        net=(nsenter -t "$COMPAT_PID" -n --)
    fi
    log="$dir/log"
    case "$kind" in
    distribution)
        command -v docker-registry >/dev/null || { echo "docker-registry not installed" >&2; return 1; }
        port=$(compat__free_port)
        {
            echo "version: 0.1"
            echo "log: {level: info}"
            echo "storage:"
            echo "  filesystem: {rootdirectory: $dir/storage}"
            echo "  delete: {enabled: true}"
            echo "http: {addr: 127.0.0.1:$port}"
            if [[ -n "$htpasswd" ]]; then
                echo "auth:"
                echo "  htpasswd: {realm: compat, path: $htpasswd}"
            fi
        } >"$dir/config.yml"
        "${net[@]}" docker-registry serve "$dir/config.yml" >"$log" 2>&1 &
        REG_PID=$!
        REG_ADDR=127.0.0.1:$port
        ;;
    berth)
        local bin=${BERTH_COMPAT_REGISTRY:-$COMPAT_REPO/build/bin/berth-registry} args=()
        [[ -x "$bin" ]] || { echo "berth-registry not built ($bin)" >&2; return 1; }
        [[ -n "$htpasswd" ]] && args+=(--htpasswd "$htpasswd")
        "${net[@]}" "$bin" serve --listen 127.0.0.1:0 --data-root "$dir/storage" "${args[@]}" \
            >"$dir/addr" 2>"$log" &
        REG_PID=$!
        local i
        for i in $(seq 100); do
            [[ -s "$dir/addr" ]] && break
            kill -0 "$REG_PID" 2>/dev/null || break
            sleep 0.1
        done
        REG_ADDR=$(head -n1 "$dir/addr" 2>/dev/null)
        ;;
    *)
        echo "compat_registry_start: unknown kind $kind" >&2
        return 1
        ;;
    esac
    compat__registry_pids+=("$REG_PID")
    local i code
    for i in $(seq 100); do
        code=$(compat__in_net curl -s -o /dev/null -w '%{http_code}' "http://$REG_ADDR/v2/" 2>/dev/null || true)
        [[ "$code" == 200 || "$code" == 401 ]] && return 0
        kill -0 "$REG_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "registry $kind/$name did not start; its log:" >&2
    tail -n 30 "$log" >&2
    return 1
}

compat_registries_stop() {
    local p
    for p in "${compat__registry_pids[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    compat__registry_pids=()
}
