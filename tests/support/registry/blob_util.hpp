#pragma once
// Byte sources and sinks for the registry client's tests.

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include "berth/common/digest.hpp"
#include "berth/registry/repository.hpp"

namespace berth::test::registry {

/// `n` pseudo-random bytes (fixed seed per `seed`).
inline std::string random_bytes(size_t n, unsigned seed = 1) {
    std::mt19937 gen(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(gen() & 0xff);
    return s;
}

/// A source over `data` that hands out at most `piece` bytes per call.
inline berth::registry::ByteSource source_of(const std::string& data, size_t piece = 1u << 30) {
    auto pos = std::make_shared<size_t>(0);
    return [&data, pos, piece](char* buf, size_t cap) -> Result<size_t> {
        size_t n = std::min({cap, piece, data.size() - *pos});
        std::memcpy(buf, data.data() + *pos, n);
        *pos += n;
        return n;
    };
}

/// A sink appending to `out`.
inline berth::registry::ByteSink sink_to(std::string& out) {
    return [&out](std::string_view chunk) -> Result<void> {
        out.append(chunk);
        return {};
    };
}

}  // namespace berth::test::registry
