#pragma once
// berth's verbs, a file per group like cmd/berth-runtime. Each register function adds its
// commands to the CLI11 app; callbacks set `status` (the exit code, docker's: 0, or 1 when the
// daemon or the user's input made the command fail).

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/api/client/client.hpp"
#include "berth/common/result.hpp"

namespace berth::cli {

/// The global flags and the client they lead to, shared by every verb.
struct Context {
    std::string host_flag;  ///< -H/--host
    std::string log_level = "info";
    bool debug = false;
    int status = 0;

    /// The client for the selected host, created on first use. InvalidArgument if the host
    /// address is malformed.
    [[nodiscard]] Result<api::client::Client*> client();

private:
    std::unique_ptr<api::client::Client> client_;
};

/// Prints an error as docker does (its message alone, on stderr) and sets status 1.
void fail(Context& ctx, const Error& e);

/// Prints `text` to stdout as is.
void out(std::string_view text);

/// True if fd 0/1 is a terminal.
bool stdin_is_terminal();
bool stdout_is_terminal();

/// The rows of `berth images` for one image summary (one row per repository:tag, docker's
/// imageFormat). `digests`: --digests; `trunc`: !--no-trunc.
std::vector<nlohmann::json> image_rows(const nlohmann::json& summary, bool digests, bool trunc,
                                       int64_t now);
/// Column titles for image rows.
const nlohmann::json& image_headers();

void register_images(CLI::App& app, CLI::App* image, Context& ctx);    // images ls inspect history tag rmi prune
void register_transfer(CLI::App& app, CLI::App* image, Context& ctx);  // import save load
void register_system(CLI::App& app, CLI::App* system, Context& ctx);   // version info system df/check
// run create start attach exec; `only` (a top-level verb) builds that one's parser alone.
void register_run(CLI::App& app, CLI::App* container, Context& ctx, std::string_view only = {});
void register_containers(CLI::App& app, CLI::App* container, Context& ctx);  // ps stop rm logs ...
void register_registry(CLI::App& app, CLI::App* image, Context& ctx);  // pull push login logout registry
/// Adds `cp` to `parent` (cp.cpp).
void add_cp(CLI::App* parent, Context& ctx);

}  // namespace berth::cli
