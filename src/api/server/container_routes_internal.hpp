#pragma once
// Helpers shared by container_routes.cpp and exec_routes.cpp (private to the api module).

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/api/server/container_backend.hpp"
#include "berth/api/server/router.hpp"
#include "berth/common/result.hpp"

namespace berth::api::detail {

/// The query parameter as Go's strconv.Atoi reads it. Errors: InvalidArgument with Go's text
/// (`strconv.Atoi: parsing "x": invalid syntax`), also for an empty or absent value.
[[nodiscard]] Result<int> query_int(const Request& req, std::string_view key);

/// moby's CheckForJSON: a Content-Type, when there is one, must be application/json.
/// Errors: InvalidArgument.
[[nodiscard]] Result<void> check_json_content_type(const Request& req);

/// RFC 3339 with exactly 9 fraction digits (moby's RFC3339NanoFixed), for log timestamps.
[[nodiscard]] std::string fixed_rfc3339_nano(int64_t unix_ns);

/// Hijacks the connection (multiplexed unless session.tty()) and runs the session on it.
/// With `write_error`, a failure of run() is written into the stream (exec start, as moby).
/// Errors: only the hijack's (nothing can be answered after it).
[[nodiscard]] Result<void> relay_hijacked(AttachSession& session, ResponseWriter& rw,
                                          bool write_error, std::string_view what);

/// A container route: the backend plus the usual handler arguments.
using ContainerRoute = Result<void> (*)(ContainerBackend&, Request&, ResponseWriter&);

/// A router Handler that calls `fn` with `backend` (borrowed; it must outlive the router).
[[nodiscard]] Handler bind_route(ContainerBackend& backend, ContainerRoute fn);

/// POST /containers/{name}/exec, POST /exec/{id}/start|resize, GET /exec/{id}/json.
void register_exec_routes(Router& router, ContainerBackend& backend);

}  // namespace berth::api::detail
