#pragma once
// API version strings ("1.44") compared the way moby's api/types/versions does: numerically
// field by field, a missing or non-numeric field counting as 0.

#include <string_view>

namespace berth::api {

/// Returns <0, 0 or >0 as a is older than, equal to or newer than b ("1.9" < "1.10").
int compare_api_versions(std::string_view a, std::string_view b) noexcept;

}  // namespace berth::api
