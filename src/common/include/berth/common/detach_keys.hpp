#pragma once
// Docker's detach keys (moby/term ToBytes and its escape proxy), shared by the CLI, which
// watches what the user types, and berth-shim, which watches what attached clients send.

#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth {

/// The default detach sequence (ctrl-p, ctrl-q).
inline constexpr std::string_view kDefaultDetachKeys = "\x10\x11";

/// moby/term ToBytes: "ctrl-p,ctrl-q" → {0x10, 0x11}; single characters stand for
/// themselves; ctrl-@, ctrl-a..ctrl-z, ctrl-[, ctrl-\, ctrl-], ctrl-^, ctrl-_ (any case).
/// InvalidArgument "Unknown character: '<key>'" otherwise.
[[nodiscard]] Result<std::string> parse_detach_keys(std::string_view keys);

/// moby/term's escape proxy: passes input through, holding back a partial match of the detach
/// sequence and releasing it when the next byte doesn't continue it.
class EscapeDetector {
public:
    explicit EscapeDetector(std::string keys) : keys_(std::move(keys)) {}
    /// Appends the bytes to forward to `pass`; true once the whole sequence was typed (the
    /// rest of `in` is then dropped).
    bool feed(std::string_view in, std::string& pass);
    /// Releases a partial match held back (at EOF).
    void flush(std::string& pass) {
        pass.append(keys_, 0, matched_);
        matched_ = 0;
    }

private:
    std::string keys_;
    size_t matched_ = 0;
};

}  // namespace berth
