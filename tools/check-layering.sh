#!/usr/bin/env bash
# Checks Berth's module layering (docs: CONVENTIONS.md "Layout", ARCHITECTURE.md "Layers of the
# code"). CMake already keeps a module from seeing headers of modules it doesn't link; this
# catches what the compiler can't (the job containerd's depguard does):
#   1. src/<m>/ and cmd/<p>/ include only berth/<dep>/ headers of their allowed dependencies;
#   2. no relative include ("../") reaches outside the file's own module;
#   3. the berth:: libraries named in each CMakeLists.txt are allowed dependencies too, so a
#      forbidden include can't be "fixed" by adding a link.
# Usage: tools/check-layering.sh [repo-root]   (default: the repository holding this script)
# Exit 0 when clean, 1 with one line per violation, 2 on usage errors.
set -euo pipefail

root=${1:-"$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"}
[[ -d "$root/src" ]] || { echo "check-layering: no src/ under $root" >&2; exit 2; }
cd "$root"

# Allowed dependencies per module, from CONVENTIONS.md. A new module or program must be added
# here (and there) before it can be checked: unknown ones are reported, not waved through.
declare -A allowed=(
    [common]=""
    [oci]="common"
    [cgroups]="common oci"
    [runtime]="common oci cgroups"
    [archive]="common"
    [store]="common oci archive"
    [image]="store archive oci common"
    [container]="oci common"
    [logfile]="common"
    [shimproto]="common"
    [volume]="common oci"
    [net]="common"
    [registry]="image store oci common"
    [build]="image store archive registry oci common"
    [engine]="common oci cgroups runtime archive store image container logfile shimproto volume net registry build"
    # api may see engine only from its adapter (api/server/engine_backend.*); checked below.
    [api]="engine container oci common"
    [cmd/berth-runtime]="runtime oci common cgroups"
    [cmd/berth-init]=""
    [cmd/berth-registry]="registry store oci common"
    [cmd/berth-shim]="runtime cgroups logfile shimproto oci common"
    [cmd/berth]="api common"
    [cmd/berthd]="common oci cgroups runtime archive store image container logfile shimproto volume net registry build engine api"
)

violations=0
checked=0
report() {
    echo "check-layering: $*"
    violations=$((violations + 1))
}

is_allowed() {  # is_allowed <unit> <dep>
    local unit=$1 dep=${2%%_*} a   # a module's extra targets are <module>_<part> (api_client)
    [[ "$unit" == "$dep" ]] && return 0
    for a in ${allowed[$unit]}; do
        [[ "$a" == "$dep" ]] && return 0
    done
    return 1
}

allowed_text() {
    local a=${allowed[$1]}
    echo "${a:-nothing}"
}

# Resolves a relative include against the including file's directory without touching the
# filesystem, so a "../" that leaves the module is caught whether or not the target exists.
normalize() {  # normalize <dir> <relative path>
    local IFS=/ part out=()
    for part in $1/$2; do
        case "$part" in
            '' | .) ;;
            ..) ((${#out[@]})) && unset 'out[${#out[@]}-1]' || out+=("..") ;;
            *) out+=("$part") ;;
        esac
    done
    echo "${out[*]}"
}

check_unit() {  # check_unit <unit name> <directory>
    local unit=$1 dir=$2 file line num inc dep target
    if [[ ! -v "allowed[$unit]" ]]; then
        report "$dir: module '$unit' has no entry in the dependency table of tools/check-layering.sh (add it, as listed in CONVENTIONS.md)"
        return
    fi
    while IFS= read -r -d '' file; do
        checked=$((checked + 1))
        # Lines like: #include "berth/oci/spec.hpp"  or  #  include <berth/oci/spec.hpp>
        while IFS=: read -r num line; do
            inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*)[>"].*/\1/' <<<"$line")
            if [[ "$inc" == *../* || "$inc" == .. ]]; then
                target=$(normalize "$(dirname "$file")" "$inc")
                if [[ "$target/" != "$dir/"* ]]; then
                    report "$file:$num: relative include \"$inc\" leaves $dir/ (resolves to $target); include <berth/<module>/...> of an allowed module instead"
                    continue
                fi
            fi
            if [[ "$inc" =~ ^berth/([^/]+)/ ]]; then
                dep=${BASH_REMATCH[1]}
                if [[ "$unit" == api && "$(basename "$file")" == engine_backend* ]]; then
                    # The adapter sees the engine and the types the engine hands out.
                    [[ "$dep" == api || "$dep" == engine ]] || is_allowed engine "$dep" ||
                        report "$file:$num: the engine adapter may not include \"$inc\" (not among engine's dependencies: $(allowed_text engine))"
                elif [[ "$unit" == api && "$dep" == engine ]]; then
                    report "$file:$num: api includes \"$inc\"; only api/server/engine_backend.* may see engine (routes talk to Backend interfaces)"
                elif ! is_allowed "$unit" "$dep"; then
                    report "$file:$num: $unit may not include \"$inc\" ($dep is not among its dependencies: $(allowed_text "$unit"))"
                fi
            fi
        done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$file" || true)
    done < <(find "$dir" -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cc' \
                 -o -name '*.c' -o -name '*.ipp' -o -name '*.inc' \) -print0 | sort -z)

    # Link dependencies: every berth::<m> and every word after DEPS in berth_add_module().
    local cml deps
    while IFS= read -r -d '' cml; do
        deps=$( { grep -oE 'berth::[A-Za-z0-9_]+' "$cml" | sed 's/^berth:://'
                  # Words between DEPS and the next keyword or ')' (may span lines).
                  tr '\n' ' ' <"$cml" | grep -oE '[[:space:]]DEPS[[:space:]][^)]*' |
                      sed -E 's/^[[:space:]]*DEPS[[:space:]]+//; s/[[:space:]](SOURCES|LIBS|PRIVATE_LIBS|NAME)([[:space:]].*|$)//' |
                      tr -s ' \t' '\n'
                } | grep -v '^$' | sort -u || true)
        for dep in $deps; do
            [[ "$dep" == flags ]] && continue   # berth_flags is compile options, not a module
            if ! is_allowed "$unit" "$dep"; then
                report "$cml: $unit links berth::$dep, which is not among its dependencies: $(allowed_text "$unit")"
            fi
        done
    done < <(find "$dir" -name CMakeLists.txt -print0 | sort -z)
}

for d in src/*/; do
    d=${d%/}
    check_unit "$(basename "$d")" "$d"
done
if [[ -d cmd ]]; then
    for d in cmd/*/; do
        d=${d%/}
        check_unit "$d" "$d"
    done
fi

if ((violations)); then
    echo "check-layering: FAILED: $violations violation(s) in $checked files (allowed dependencies: CONVENTIONS.md, Layout)"
    exit 1
fi
echo "check-layering: OK ($checked files in src/ and cmd/ follow the module dependencies)"
