#include "berth/common/base64.hpp"

#include <cstdint>

namespace berth {

namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The 6-bit value of `c` in the accepted alphabets, or -1.
int value_of(char c, bool accept_std, bool accept_url) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (accept_std && c == '+') return 62;
    if (accept_std && c == '/') return 63;
    if (accept_url && c == '-') return 62;
    if (accept_url && c == '_') return 63;
    return -1;
}

// Decodes `text` (no padding) whose characters are all valid: 4 characters give 3 bytes, a
// tail of 2 or 3 gives 1 or 2. `strict_bits`: the unused bits of the tail must be zero.
Result<std::string> decode_unpadded(std::string_view text, bool accept_std, bool accept_url,
                                    bool strict_bits) {
    if (text.size() % 4 == 1)
        return make_error(Errc::InvalidArgument, "invalid base64: length {} is not possible",
                          text.size());
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    uint32_t acc = 0;
    int nbits = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        int v = value_of(text[i], accept_std, accept_url);
        if (v < 0)
            return make_error(Errc::InvalidArgument, "invalid base64: bad character at offset {}",
                              i);
        acc = (acc << 6) | static_cast<uint32_t>(v);
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out += static_cast<char>((acc >> nbits) & 0xff);
        }
    }
    if (strict_bits && nbits > 0 && (acc & ((1u << nbits) - 1)) != 0)
        return make_error(Errc::InvalidArgument, "invalid base64: non-zero padding bits");
    return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes, Base64Alphabet alphabet, bool pad) {
    const char* table = alphabet == Base64Alphabet::Url ? kUrl : kStd;
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16) |
                     (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8) |
                     static_cast<uint8_t>(bytes[i + 2]);
        out += table[(n >> 18) & 63];
        out += table[(n >> 12) & 63];
        out += table[(n >> 6) & 63];
        out += table[n & 63];
    }
    size_t rest = bytes.size() - i;
    if (rest > 0) {
        uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16;
        if (rest == 2) n |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8;
        out += table[(n >> 18) & 63];
        out += table[(n >> 12) & 63];
        if (rest == 2) out += table[(n >> 6) & 63];
        if (pad) out.append(rest == 2 ? 1 : 2, '=');
    }
    return out;
}

Result<std::string> base64_decode(std::string_view text, Base64Alphabet alphabet) {
    if (text.size() % 4 != 0)
        return make_error(Errc::InvalidArgument, "invalid base64: length {} is not a multiple of 4",
                          text.size());
    size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    bool url = alphabet == Base64Alphabet::Url;
    return decode_unpadded(text.substr(0, text.size() - pad), !url, url, true);
}

Result<std::string> base64_decode_lenient(std::string_view text) {
    size_t end = text.size();
    size_t pad = 0;
    while (end > 0 && text[end - 1] == '=' && pad < 2) {
        --end;
        ++pad;
    }
    std::string_view body = text.substr(0, end);
    // Padding, when there is some, must bring the length to a multiple of 4.
    if (pad > 0 && (body.size() + pad) % 4 != 0)
        return make_error(Errc::InvalidArgument, "invalid base64: wrong padding");
    return decode_unpadded(body, true, true, false);
}

}  // namespace berth
