// import, save, load: images moved as tar streams.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>

#include "berth/common/unique_fd.hpp"
#include "berth/common/strings.hpp"
#include "../commands.hpp"
#include "../format/reference.hpp"
#include "../jsonmessage.hpp"

namespace berth::cli {

using json = nlohmann::json;
using api::client::FdBodySource;
using api::client::Request;

namespace {

// Streams a JSON progress answer to stdout; its error (errorDetail) fails the command.
void show_progress(Context& ctx, Result<void> r) {
    if (!r) fail(ctx, r.error());
}

// -------------------------------------------------------------------------------------------
// import

struct ImportOptions {
    std::string source, repository, message, platform;
    std::vector<std::string> changes;
};

void run_import(Context& ctx, const ImportOptions& o) {
    std::string_view src = o.source;
    if (src.find("://") != std::string_view::npos || src.rfind("http", 0) == 0)
        return fail(ctx, Error{Errc::Unsupported, 0,
                               fmt::format("importing from a URL is not supported by berth: {}", o.source)});
    if (!o.repository.empty()) {
        auto ref = format::parse_normalized_named(o.repository);
        if (!ref) return fail(ctx, ref.error());
    }
    UniqueFd file;
    int fd = 0;
    std::string name = "stdin";
    if (src != "-") {
        file.reset(::open(o.source.c_str(), O_RDONLY | O_CLOEXEC));
        if (!file) return fail(ctx, BERTH_SYS_ERROR("open {}", o.source).value());
        fd = file.get();
        name = o.source;
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    FdBodySource body(fd, name);
    Request req;
    req.method = "POST";
    req.path = "/images/create";
    req.query.emplace_back("fromSrc", "-");
    if (!o.repository.empty()) req.query.emplace_back("repo", o.repository);
    if (!o.message.empty()) req.query.emplace_back("message", o.message);
    for (const auto& c : o.changes) req.query.emplace_back("changes", c);
    if (!o.platform.empty()) req.query.emplace_back("platform", o.platform);
    req.content_type = "application/x-tar";
    req.stream_body = &body;
    auto printer = JsonMessagePrinter::for_fd(1);
    show_progress(ctx, (*client)->call_json_lines(req, [&](const json& m) { return printer.show(m); }));
}

void add_import_command(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<ImportOptions>();
    auto* c = parent->add_subcommand("import", "Import the contents from a tarball to create a filesystem image");
    c->add_option("-c,--change", o->changes, "Apply Dockerfile instruction to the created image")->allow_extra_args(false);
    c->add_option("-m,--message", o->message, "Set commit message for imported image");
    c->add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
    c->add_option("source", o->source, "file|URL|-")->required();
    c->add_option("repository", o->repository, "REPOSITORY[:TAG]");
    c->callback([o, &ctx] { run_import(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// save

struct SaveOptions {
    std::string output, platform;
    std::vector<std::string> images;
};

void run_save(Context& ctx, const SaveOptions& o) {
    if (o.output.empty() && stdout_is_terminal())
        return fail(ctx, Error{Errc::InvalidArgument, 0,
                               "cowardly refusing to save to a terminal. Use the -o flag or redirect"});
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Request req;
    req.path = "/images/get";
    for (const auto& i : o.images) req.query.emplace_back("names", i);
    if (!o.platform.empty()) req.query.emplace_back("platform", o.platform);
    if (o.output.empty()) {
        auto r = (*client)->call_to_fd(req, 1);
        if (!r) fail(ctx, r.error());
        return;
    }
    // Write beside the target and rename at the end, so a failed save leaves no partial file
    // (docker's CopyToFile does the same).
    std::string dir = ".";
    if (auto slash = o.output.rfind('/'); slash != std::string::npos) dir = slash == 0 ? "/" : o.output.substr(0, slash);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        std::string why = std::strerror(errno);
        if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
        return fail(ctx, Error{Errc::InvalidArgument, 0,
                               fmt::format("failed to save image: invalid output path: stat {}: {}", dir, why)});
    }
    if (!S_ISDIR(st.st_mode))
        return fail(ctx, Error{Errc::InvalidArgument, 0,
                               fmt::format("failed to save image: invalid output path: stat {}: not a directory", dir)});
    std::string tmp = dir + "/.berth_temp_XXXXXX";
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd) return fail(ctx, BERTH_SYS_ERROR("create a temporary file in {}", dir).value());
    auto r = (*client)->call_to_fd(req, fd.get());
    if (r && ::fchmod(fd.get(), 0644) != 0) r = BERTH_SYS_ERROR("chmod {}", tmp);
    if (r && ::rename(tmp.c_str(), o.output.c_str()) != 0) r = BERTH_SYS_ERROR("rename {} to {}", tmp, o.output);
    if (!r) {
        ::unlink(tmp.c_str());
        fail(ctx, r.error());
    }
}

void add_save_command(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<SaveOptions>();
    auto* c = parent->add_subcommand("save", "Save one or more images to a tar archive (streamed to STDOUT by default)");
    c->add_option("-o,--output", o->output, "Write to a file, instead of STDOUT");
    c->add_option("--platform", o->platform, "Save only the given platform variant");
    c->add_option("images", o->images, "IMAGE")->required();
    c->callback([o, &ctx] { run_save(ctx, *o); });
}

// -------------------------------------------------------------------------------------------
// load

struct LoadOptions {
    std::string input, platform;
    bool quiet = false;
};

void run_load(Context& ctx, const LoadOptions& o) {
    UniqueFd file;
    int fd = 0;
    std::string name = "stdin";
    if (!o.input.empty()) {
        file.reset(::open(o.input.c_str(), O_RDONLY | O_CLOEXEC));
        if (!file) return fail(ctx, BERTH_SYS_ERROR("open {}", o.input).value());
        fd = file.get();
        name = o.input;
    } else if (stdin_is_terminal()) {
        return fail(ctx, Error{Errc::InvalidArgument, 0, "requested load from stdin, but stdin is empty"});
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    FdBodySource body(fd, name);
    Request req;
    req.method = "POST";
    req.path = "/images/load";
    auto printer = JsonMessagePrinter::for_fd(1);
    if (o.quiet || !stdout_is_terminal()) req.query.emplace_back("quiet", "1");
    if (!o.platform.empty()) req.query.emplace_back("platform", o.platform);
    req.content_type = "application/x-tar";
    req.stream_body = &body;
    // docker shows the answer as JSON messages only when it says it is JSON; else raw.
    api::client::Response head;
    std::string pending;
    bool is_json = false, decided = false;
    auto r = (*client)->call_stream(req, [&](std::string_view d) -> Result<void> {
        if (!decided) {
            decided = true;
            is_json = head.content_type == "application/json";
        }
        if (!is_json) {
            out(d);
            return {};
        }
        pending.append(d);
        size_t start = 0;
        while (true) {
            size_t nl = pending.find('\n', start);
            if (nl == std::string::npos) break;
            std::string_view line = std::string_view(pending).substr(start, nl - start);
            start = nl + 1;
            if (trim(line).empty()) continue;
            json m;
            try {
                m = json::parse(line);
            } catch (const json::exception& e) {
                return make_error(Errc::InvalidArgument, "decode the daemon's load answer: {}", e.what());
            }
            BERTH_TRY(printer.show(m));
        }
        pending.erase(0, start);
        return {};
    }, &head);
    if (r && is_json && !trim(pending).empty()) {
        try {
            r = printer.show(json::parse(pending));
        } catch (const json::exception& e) {
            r = make_error(Errc::InvalidArgument, "decode the daemon's load answer: {}", e.what());
        }
    }
    if (!r) fail(ctx, r.error());
}

void add_load_command(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<LoadOptions>();
    auto* c = parent->add_subcommand("load", "Load an image from a tar archive or STDIN");
    c->add_option("-i,--input", o->input, "Read from tar archive file, instead of STDIN");
    c->add_option("--platform", o->platform, "Load only the given platform variant");
    c->add_flag("-q,--quiet", o->quiet, "Suppress the load output");
    c->callback([o, &ctx] { run_load(ctx, *o); });
}

}  // namespace

void register_transfer(CLI::App& app, CLI::App* image, Context& ctx) {
    add_import_command(&app, ctx);
    add_save_command(&app, ctx);
    add_load_command(&app, ctx);
    if (image) {
        add_import_command(image, ctx);
        add_save_command(image, ctx);
        add_load_command(image, ctx);
    }
}

}  // namespace berth::cli
