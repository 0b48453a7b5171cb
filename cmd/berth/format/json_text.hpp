#pragma once
// JSON text as Go's encoding/json writes it, for output docker prints without decoding it.

#include <string>
#include <string_view>

namespace berth::cli::format {

/// Go's json.Indent(dst, src, prefix "", indent): re-indents raw JSON text without decoding it,
/// so key order, number spelling and escapes stay as the daemon wrote them; empty arrays and
/// objects stay "[]" / "{}". Input must be valid JSON (the caller parsed it already).
std::string json_indent(std::string_view src, std::string_view indent = "    ");

}  // namespace berth::cli::format

namespace berth::cli::format {

/// Go's json.Compact: drops the whitespace between tokens, keeps everything else as written.
std::string json_compact(std::string_view src);

}  // namespace berth::cli::format
