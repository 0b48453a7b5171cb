#pragma once
// process.capabilities → five 64-bit sets, applied with capset/prctl between clone and execve.

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::runtime {

struct CapSets {
    uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

/// Parses names ("CAP_SYS_ADMIN"; libcap also takes "cap_sys_admin"). Unknown names that this
/// kernel lacks (but libcap knows or that look like CAP_*) are skipped with a warning, as runc
/// does; garbage is InvalidArgument naming the set, e.g.
/// "process.capabilities.bounding[2]: unknown capability FOO".
[[nodiscard]] Result<CapSets> parse_capabilities(const oci::Capabilities& c);

/// The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap, read once
/// and cached; without /proc, probed with PR_CAPBSET_READ). Call it once before clone so the
/// child finds it cached.
int last_cap() noexcept;

/// Drops from the bounding set every capability not in `s.bounding` (needs CAP_SETPCAP, so call
/// before switching user), then later apply_capabilities. Both return 0 or an errno and are
/// safe between clone and execve. Without CAP_SETPCAP this is EPERM (runc skips the bounding
/// set silently then; we would rather fail than run with a wider set than asked for).
int apply_bounding(const CapSets& s) noexcept;
/// Sets effective/permitted/inheritable with capset (EPERM if effective is not within
/// permitted), clears the ambient set and raises `s.ambient`. Call after setresuid (with
/// PR_SET_KEEPCAPS set before it). As in runc, an ambient capability the kernel refuses (one
/// not both permitted and inheritable) is skipped; parse_capabilities warns about those.
int apply_capabilities(const CapSets& s) noexcept;

/// Every capability name this kernel has ("CAP_CHOWN", ...), for `features` and `spec`.
[[nodiscard]] std::vector<std::string> all_capability_names();

}  // namespace berth::runtime
