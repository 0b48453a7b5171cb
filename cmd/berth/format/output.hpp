#pragma once
// Docker's formatter.Context: "table", "table TEMPLATE", "json" and "TEMPLATE" over a list of
// rows, tables aligned with TableWriter and headed by the template run over column titles.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"

namespace berth::cli::format {

/// Renders `rows` with `format` (a user's --format, already defaulted by the caller: "table"
/// alone must have been replaced by the command's default table template). `headers` maps
/// field names to column titles; `row_type` names the row type in "can't evaluate field"
/// errors. Errors (InvalidArgument) read "template parsing error: template: ...", and nothing
/// is rendered then, as docker prints nothing.
[[nodiscard]] Result<std::string> render_rows(std::string_view format,
                                              const std::vector<nlohmann::json>& rows,
                                              const nlohmann::json& headers,
                                              std::string_view row_type);

/// True if `format` starts with docker's "table" key.
bool is_table_format(std::string_view format);

/// Renders one value with a non-table template (version, info, inspect -f): "json" is
/// {{json .}}; output ends with "\n".
[[nodiscard]] Result<std::string> render_value(std::string_view format, const nlohmann::json& value);

/// docker's formatter.Ellipsis: cuts `s` to `max` characters, the last one being "…".
std::string ellipsis(std::string_view s, size_t max);

/// stringid.TruncateID: drops an "algo:" prefix and keeps 12 characters.
std::string truncate_id(std::string_view id);

}  // namespace berth::cli::format
