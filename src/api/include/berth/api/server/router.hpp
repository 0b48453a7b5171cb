#pragma once
// Routes: method + path pattern -> handler. Patterns are literal segments and variables:
// "{name}" matches one segment, "{name:.*}" matches greedily across '/' (image names hold '/',
// ':' and '@', as in moby's mux). Every route is also served under "/v<version>".

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/api/server/request.hpp"
#include "berth/api/server/response.hpp"
#include "berth/common/result.hpp"

namespace berth::api {

/// A route handler. It answers through `rw`; if it returns an error before answering, the
/// server answers with that error (status from http_status_for); after a stream has started
/// the server just ends (or drops) the connection, so a streaming handler that wants the
/// client to see an error writes it into the stream itself.
using Handler = std::function<Result<void>(Request& req, ResponseWriter& rw)>;

/// The table of routes, matched in the order they were added.
class Router {
public:
    /// Adds a route. HEAD requests are served by the GET route when no HEAD route matches.
    void add(std::string method, std::string_view pattern, Handler handler);

    /// The outcome of a lookup.
    struct Match {
        const Handler* handler = nullptr;
        std::map<std::string, std::string> vars;
    };

    /// Finds the handler for `method` on a path without version prefix.
    [[nodiscard]] std::optional<Match> match(std::string_view method,
                                             const std::string& path) const;

    /// Handles one request: strips and checks the version prefix (moby's version middleware:
    /// 400 when too old or too new), finds the route (404 {"message":"page not found"} for an
    /// unknown path or method, as moby), fills req.path/api_version/vars, calls the handler
    /// and turns a returned error into an answer if none was started. Returns false when the
    /// handler failed after its answer began: the connection should then be dropped, so the
    /// client sees a truncated answer rather than a complete-looking one.
    bool dispatch(Request& req, ResponseWriter& rw) const;

    /// A compiled pattern's piece. Matched by hand rather than with std::regex: a request went
    /// through up to fifty of libstdc++'s backtracking matchers (a std::function call per
    /// character), the hottest user-space code of berthd's `run --rm`.
    struct Part {
        enum Kind { Literal, Segment, Any } kind;
        std::string text;  ///< a Literal's text
    };

private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<Part> parts;
        std::vector<std::string> var_names;
        Handler handler;
    };
    std::vector<Route> routes_;
};

}  // namespace berth::api
