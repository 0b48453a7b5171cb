#include "berth/api/server/routes.hpp"

namespace berth::api {

namespace {

// moby's ping: the CLI reads Api-Version (every answer has it), Ostype, Docker-Experimental
// and Swarm from these headers; Builder-Version stays unset (no BuildKit: docker-api.md §1.2).
Result<void> ping(Request& req, ResponseWriter& rw) {
    rw.set_header("Swarm", "inactive");
    rw.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
    rw.set_header("Pragma", "no-cache");
    return rw.send(200, "text/plain; charset=utf-8", req.method == "HEAD" ? "" : "OK");
}

}  // namespace

void register_ping_routes(Router& router) {
    router.add("GET", "/_ping", ping);
    router.add("HEAD", "/_ping", ping);
}

}  // namespace berth::api
