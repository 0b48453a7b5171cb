#pragma once
// One HTTP request as a route handler sees it: method, path (version prefix stripped), the API
// version the client asked for, path variables, query, headers and an incremental body.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/api/server/filters.hpp"
#include "berth/api/server/io.hpp"
#include "berth/api/server/query.hpp"
#include "berth/common/result.hpp"

namespace berth::api {

/// What the server says about itself; routes such as /version and /_ping read it.
struct ServerInfo {
    std::string api_version = "1.44";      ///< the maximum and default API version
    std::string min_api_version = "1.24";  ///< older clients get 400
    std::string server_version = "0.1.0";  ///< shown as "Server: Docker/<this> (linux)"
};

/// A parsed request. The body is read through `body()`; it is never buffered whole.
class Request {
public:
    std::string method;       ///< "GET", "POST", ... (a HEAD routed to GET keeps "HEAD")
    std::string target;       ///< the raw request target, with query
    std::string path;         ///< percent-decoded path without the "/v1.xx" prefix
    std::string api_version;  ///< from the path, or the server's default for a bare path
    Query query;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names as sent
    std::map<std::string, std::string> vars;                   ///< path variables ({name})
    const ServerInfo* server = nullptr;

    /// The value of header `name` (case-insensitive), if present.
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const;

    /// The path variable `name` ("" when the route has none of that name).
    [[nodiscard]] std::string var(std::string_view name) const;

    /// True if the request's API version is >= `v` (behaviour that changed at some version).
    [[nodiscard]] bool version_at_least(std::string_view v) const noexcept;

    /// The incremental request body (EOF at once when there is none).
    [[nodiscard]] BodyReader& body() noexcept { return *body_; }

    /// Reads the whole body as JSON. An empty body gives `nullptr` JSON when `allow_empty`.
    /// Errors: InvalidArgument naming the parse problem, or an empty body when not allowed;
    /// InvalidArgument when bigger than `limit`.
    [[nodiscard]] Result<nlohmann::json> json_body(bool allow_empty = false,
                                                   size_t limit = 16u << 20);

    /// The `filters` query parameter decoded (both encodings). Errors: InvalidArgument.
    [[nodiscard]] Result<Filters> filters() const;

    /// Set by the server before dispatch.
    void set_body(BodyReader* b) noexcept { body_ = b; }

private:
    BodyReader* body_ = nullptr;
};

}  // namespace berth::api
