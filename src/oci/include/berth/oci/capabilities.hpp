#pragma once
// Linux capability names by number (linux/capability.h), as the OCI spec writes them
// ("CAP_CHOWN"): for "ALL", for validating names, and for the test suites' checks.

#include <span>

namespace berth::oci {

/// The names of capabilities 0..CAP_CHECKPOINT_RESTORE, indexed by number. The running
/// kernel may know fewer (/proc/sys/kernel/cap_last_cap).
[[nodiscard]] std::span<const char* const> capability_names() noexcept;

}  // namespace berth::oci
