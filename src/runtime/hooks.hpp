#pragma once
// OCI hooks: each runs with the container state JSON on stdin, the hook's own args and env,
// and its timeout (seconds). The first failing hook stops the list.

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::runtime {

/// Runs `hooks` in order. `kind` names the list in errors ("prestart"), e.g.
/// "prestart hook #0 (/usr/bin/x): exited with status 3". Unavailable on timeout.
[[nodiscard]] Result<void> run_hooks(const std::vector<oci::Hook>& hooks, std::string_view kind,
                                     const std::string& state_json);

}  // namespace berth::runtime
