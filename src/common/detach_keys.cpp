// Docker's detach keys (detach_keys.hpp).

#include "berth/common/detach_keys.hpp"

#include <cctype>
#include <iterator>

namespace berth {

Result<std::string> parse_detach_keys(std::string_view keys) {
    static const char* const kCtrl[] = {
        "ctrl-@", "ctrl-a", "ctrl-b", "ctrl-c", "ctrl-d",  "ctrl-e", "ctrl-f", "ctrl-g",
        "ctrl-h", "ctrl-i", "ctrl-j", "ctrl-k", "ctrl-l",  "ctrl-m", "ctrl-n", "ctrl-o",
        "ctrl-p", "ctrl-q", "ctrl-r", "ctrl-s", "ctrl-t",  "ctrl-u", "ctrl-v", "ctrl-w",
        "ctrl-x", "ctrl-y", "ctrl-z", "ctrl-[", "ctrl-\\", "ctrl-]", "ctrl-^", "ctrl-_"};
    std::string out;
    size_t start = 0;
    while (true) {
        size_t comma = keys.find(',', start);
        std::string_view key =
            keys.substr(start, comma == std::string_view::npos ? keys.npos : comma - start);
        if (key.size() == 1) {
            out += key[0];
        } else {
            std::string lower(key);
            for (auto& ch : lower)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            bool found = false;
            for (size_t i = 0; i < std::size(kCtrl); ++i) {
                if (lower == kCtrl[i]) {
                    out += static_cast<char>(i);
                    found = true;
                    break;
                }
            }
            if (!found) return make_error(Errc::InvalidArgument, "Unknown character: '{}'", key);
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return out;
}

bool EscapeDetector::feed(std::string_view in, std::string& pass) {
    if (keys_.empty()) {
        pass.append(in);
        return false;
    }
    for (char ch : in) {
        if (ch == keys_[matched_]) {
            if (++matched_ == keys_.size()) return true;
            continue;
        }
        // Not the sequence after all: release what was held back, then this byte (which
        // may begin the sequence again).
        pass.append(keys_, 0, matched_);
        matched_ = 0;
        if (ch == keys_[0]) {
            matched_ = 1;
            if (keys_.size() == 1) return true;
        } else {
            pass += ch;
        }
    }
    return false;
}

}  // namespace berth
