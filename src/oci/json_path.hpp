#pragma once
// JSON paths as error messages show them: "process.user.uid", "linux.namespaces[2].type",
// `linux.sysctl["net.ipv4.ip_forward"]` (jq's notation; keys that are not plain identifiers are
// quoted so a dot inside a key can't be mistaken for nesting). Private to the oci module.

#include <cstddef>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "berth/common/strings.hpp"

namespace berth::oci::detail {

inline bool is_identifier(std::string_view key) noexcept {
    if (key.empty()) return false;
    for (size_t i = 0; i < key.size(); ++i) {
        char c = key[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && i > 0)) return false;
    }
    return true;
}

/// `base` followed by the member `key`.
inline std::string path_key(std::string_view base, std::string_view key) {
    if (is_identifier(key)) {
        if (base.empty()) return std::string(key);
        return fmt::format("{}.{}", base, key);
    }
    return fmt::format("{}[\"{}\"]", base, json_escape(key));
}

/// `base` followed by the array index `i`.
inline std::string path_index(std::string_view base, size_t i) {
    return fmt::format("{}[{}]", base, i);
}

/// Where a value is in the document being read, rendered as above only when a message needs it:
/// a parser reads thousands of values (a seccomp profile's syscall names) and reports at most
/// one. A Path refers to its parent's, so it lives on the stack of the reader that walks down
/// the document and must not outlive it.
class Path {
public:
    Path() = default;  ///< the document itself
    Path(const Path& parent, std::string_view key) noexcept
        : parent_(&parent), key_(key), kind_(Kind::Key) {}
    Path(const Path& parent, size_t index) noexcept
        : parent_(&parent), index_(index), kind_(Kind::Index) {}

    std::string str() const {
        switch (kind_) {
            case Kind::Key: return path_key(parent_->str(), key_);
            case Kind::Index: return path_index(parent_->str(), index_);
            case Kind::Root: break;
        }
        return {};
    }

private:
    enum class Kind { Root, Key, Index };
    const Path* parent_ = nullptr;
    std::string_view key_;
    size_t index_ = 0;
    Kind kind_ = Kind::Root;
};

/// "<origin>: <path>: <what>", or "<origin>: <what>" for the document itself.
inline std::string field_message(std::string_view origin, std::string_view path,
                                 std::string_view what) {
    if (path.empty()) return fmt::format("{}: {}", origin, what);
    return fmt::format("{}: {}: {}", origin, path, what);
}

}  // namespace berth::oci::detail
