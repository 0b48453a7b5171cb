#pragma once
// One accepted connection: HTTP/1.1 requests read with Beast's parser, answered through a
// ResponseWriter, in a keep-alive loop on the calling thread (private to the server).

#include "berth/api/server/request.hpp"
#include "berth/api/server/router.hpp"

namespace berth::api::detail {

/// Serves requests on `fd` (borrowed; the caller closes it) until the client closes, an
/// answer requires closing, a hijacked handler returns, or the socket is shut down.
void serve_connection(int fd, const Router& router, const ServerInfo& info);

}  // namespace berth::api::detail
