#pragma once
// berth-runtime's verbs, one file each group, like crun's src/*.c. Each register function adds
// its subcommand to the CLI11 app; the callback sets `status` (the process exit code).

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

#include "berth/runtime/runtime.hpp"

namespace berth::cli {

/// What the global flags decided, shared by every verb.
struct Context {
    runtime::Globals globals;
    int status = 0;
    std::string verb;  ///< the verb being run; empty: define every verb (help, errors)

    /// True if `name`'s parser must be built.
    [[nodiscard]] bool wants(std::string_view name) const { return verb.empty() || verb == name; }
};

/// Reports an error the way runc does (one log line) and sets status 1.
void fail(Context& ctx, const Error& e);

/// The first non-option argument (skipping global options and their values): the verb.
std::string_view find_verb(int argc, char** argv);
/// The register function that defines `verb`, or nullptr if none does.
void (*register_for(std::string_view verb))(CLI::App&, Context&);

void register_lifecycle(CLI::App& app, Context& ctx);  // create start run delete kill state list ps
void register_exec(CLI::App& app, Context& ctx);       // exec
void register_resources(CLI::App& app, Context& ctx);  // pause resume update events
void register_info(CLI::App& app, Context& ctx);       // features spec

}  // namespace berth::cli
