#pragma once
// Container names and IDs as dockerd makes and checks them (moby daemon/names.go,
// pkg/stringid, pkg/namesgenerator).

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth::container {

/// The characters a name may use, as moby's error message quotes them.
inline constexpr std::string_view kValidContainerNameChars = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// moby's `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`: an optional leading '/', then at least two
/// characters, the first alphanumeric.
[[nodiscard]] bool valid_container_name(std::string_view name) noexcept;

/// InvalidArgument "Invalid container name (<name>), only [a-zA-Z0-9][a-zA-Z0-9_.-] are
/// allowed" (moby's wording) when valid_container_name is false.
[[nodiscard]] Result<void> validate_container_name(std::string_view name);

/// A new container ID: 64 lowercase hex digits from getrandom(2). Regenerated while its first
/// 12 characters are all decimal digits, as moby's stringid.GenerateRandomID does, because the
/// short ID becomes the hostname and an all-numeric hostname is taken for a number.
[[nodiscard]] std::string generate_container_id();

/// A uniform random index in [0, n) (n > 0): the randomness generate_name uses, injectable so
/// tests can pick words.
using RandomIndex = std::function<size_t(size_t n)>;

/// namesgenerator.GetRandomName: "<adjective>_<surname>", never "boring_wozniak" (Steve Wozniak
/// is not boring: drawn again), with one random digit appended when retry > 0.
[[nodiscard]] std::string generate_name(int retry, const RandomIndex& random);

/// generate_name with randomness from getrandom(2).
[[nodiscard]] std::string generate_name(int retry = 0);

/// moby's generateNewName: up to 6 generated names (the first without a digit), each offered
/// to `try_reserve`, which returns true if it took the name; then the 12-character short ID,
/// offered once. Returns the name (without a leading '/'), or Conflict if even the short ID was
/// refused.
[[nodiscard]] Result<std::string> generate_unique_name(
    std::string_view container_id, const std::function<bool(const std::string&)>& try_reserve);

}  // namespace berth::container
