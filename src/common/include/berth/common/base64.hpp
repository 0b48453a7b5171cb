#pragma once
// Base64 (RFC 4648) in the two alphabets Docker uses: standard (config.json's "auth", the
// container path-stat header, OCI descriptor data) and URL-safe (X-Registry-Auth,
// X-Registry-Config).

#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth {

/// The 64 characters: "+/" (standard, section 4) or "-_" (URL and file name safe, section 5).
enum class Base64Alphabet { Std, Url };

/// Encodes `bytes` as Go's base64.StdEncoding / URLEncoding do (with '=' padding), or
/// without padding (RawStdEncoding / RawURLEncoding) when `pad` is false.
[[nodiscard]] std::string base64_encode(std::string_view bytes,
                                        Base64Alphabet alphabet = Base64Alphabet::Std,
                                        bool pad = true);

/// Strict decoding as Go's padded encodings do: only `alphabet`'s characters, padding
/// required, length a multiple of 4, unused bits zero. InvalidArgument naming the problem.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text,
                                                Base64Alphabet alphabet = Base64Alphabet::Std);

/// Lenient decoding for headers that clients encode in either alphabet, with or without
/// padding (X-Registry-Auth: the docker CLI sends base64url with padding, other clients
/// standard base64 or no padding). Characters of both alphabets are accepted, mixed; padding
/// may be missing, but if present it must end the text. InvalidArgument for any other
/// character or an impossible length (1 mod 4).
[[nodiscard]] Result<std::string> base64_decode_lenient(std::string_view text);

}  // namespace berth
