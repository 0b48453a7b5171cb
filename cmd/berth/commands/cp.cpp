// cp: copies between a container and the local filesystem over the archive endpoints
// (docker/cli cp.go). The CLI may not link berth::archive, so local tars are made and unpacked
// by the system's tar, streamed through a pipe.

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../commands.hpp"
#include "../format/units.hpp"
#include "berth/common/base64.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/process.hpp"
#include "berth/common/strings.hpp"

extern char** environ;

namespace berth::cli {

using json = nlohmann::json;
using api::client::Request;

namespace {

struct CpOptions {
    bool archive = false, follow_link = false, quiet = false;
    std::vector<std::string> args;
};

// "c:/path" → {"c", "/path"}; a local path → {"", path}. A ':' after a '/' is a local path
// (docker's splitCpArg).
std::pair<std::string, std::string> split_cp_arg(const std::string& arg) {
    if (!arg.empty() && (arg[0] == '/' || arg[0] == '.')) return {"", arg};
    auto colon = arg.find(':');
    if (colon == std::string::npos) return {"", arg};
    auto slash = arg.find('/');
    if (slash != std::string::npos && slash < colon) return {"", arg};
    return {arg.substr(0, colon), arg.substr(colon + 1)};
}

std::string base_name(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto slash = p.rfind('/');
    return slash == std::string::npos ? p : p.substr(slash + 1);
}

// Decodes X-Docker-Container-Path-Stat (base64 JSON); an undecodable header means no stat.
json path_stat(const std::string& header) {
    auto decoded = base64_decode_lenient(header);
    if (!decoded) return json::object();
    try {
        return json::parse(*decoded);
    } catch (const json::exception&) {
        return json::object();
    }
}

// Spawns tar with one end of a pipe as its stdin (`feed`) or stdout; returns the other end.
Result<std::pair<ChildProcess, UniqueFd>> spawn_tar(const std::vector<std::string>& args,
                                                    bool feed) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return BERTH_SYS_ERROR("create a pipe for tar");
    UniqueFd rd(p[0]), wr(p[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (feed)
        posix_spawn_file_actions_adddup2(&fa, rd.get(), 0);
    else
        posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
    std::vector<char*> argv;
    std::vector<std::string> all = {"tar"};
    all.insert(all.end(), args.begin(), args.end());
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, "tar", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return BERTH_SYS_ERROR("run tar");
    }
    ChildProcess child(pid);
    return std::pair<ChildProcess, UniqueFd>{std::move(child),
                                             feed ? std::move(wr) : std::move(rd)};
}

Result<void> wait_tar(ChildProcess& child) {
    auto st = BERTH_TRY(child.wait());
    if (!st.ok()) return make_error(Errc::Internal, "tar failed with exit code {}", st.code);
    return {};
}

void report_copied(const CpOptions& o, uint64_t bytes, const std::string& dst) {
    if (o.quiet || ::isatty(2) != 1) return;
    std::fprintf(stderr, "Successfully copied %s to %s\n",
                 format::human_size(static_cast<double>(bytes)).c_str(), dst.c_str());
}

Result<void> copy_from_container(api::client::Client& c, const CpOptions& o,
                                 const std::string& container, std::string src,
                                 const std::string& dst) {
    if (o.follow_link) {
        Request head;
        head.method = "HEAD";
        head.path = "/containers/" + container + "/archive";
        head.query = {{"path", src}};
        auto r = BERTH_TRY(c.call(head));
        json st = path_stat(r.header("X-Docker-Container-Path-Stat"));
        std::string target = st.value("linkTarget", std::string());
        if (!target.empty()) src = target;
    }
    Request req;
    req.path = "/containers/" + container + "/archive";
    req.query = {{"path", src}};
    if (dst == "-") return c.call_to_fd(req, 1);

    auto resp = BERTH_TRY(c.open(req));
    json st = path_stat(resp->head().header("X-Docker-Container-Path-Stat"));
    std::string src_base = st.value("name", base_name(src));
    struct stat sb {};
    bool exists = ::stat(dst.c_str(), &sb) == 0;
    std::string dir = dst;
    std::vector<std::string> args = {"-x", "--no-same-owner", "-f", "-"};
    if (!exists || !S_ISDIR(sb.st_mode)) {
        if (!exists && !dst.empty() && dst.back() == '/')
            return make_error(Errc::NotFound, "destination directory \"{}\" must exist", dst);
        dir = dirname_of(dst);
        std::string new_base = base_name(dst);
        if (new_base != src_base)
            args.push_back("--transform=s|^" + src_base + "|" + new_base + "|");
    }
    args.insert(args.begin(), {"-C", dir});
    auto [child, fd] = BERTH_TRY(spawn_tar(args, true));
    uint64_t total = 0;
    auto r = resp->read_body([&, &fd = fd](std::string_view d) -> Result<void> {
        total += d.size();
        return write_all(fd.get(), d, "tar's stdin");
    });
    fd.reset();
    auto w = wait_tar(child);
    BERTH_TRY(r);
    BERTH_TRY(w);
    report_copied(o, total, dst);
    return {};
}

Result<void> copy_to_container(api::client::Client& c, const CpOptions& o, const std::string& src,
                               const std::string& container, const std::string& dst) {
    Request head;
    head.method = "HEAD";
    head.path = "/containers/" + container + "/archive";
    head.query = {{"path", dst}};
    auto stat = c.call(head);
    std::string dir = dst, rename;
    if (!stat) {
        if (stat.error().code != Errc::NotFound) return Unexpected(stat.error());
        if (src == "-") return Unexpected(stat.error());
        dir = dirname_of(dst);
        rename = base_name(dst);
    } else {
        json st = path_stat(stat->header("X-Docker-Container-Path-Stat"));
        uint64_t mode = st.value("mode", uint64_t{0});
        bool is_dir = (mode & (uint64_t{1} << 31)) != 0;
        if (!is_dir) {
            if (src == "-")
                return make_error(Errc::InvalidArgument,
                                  "destination \"{}:{}\" must be a directory", container, dst);
            dir = dirname_of(dst);
            rename = base_name(dst);
        }
    }
    Request put;
    put.method = "PUT";
    put.path = "/containers/" + container + "/archive";
    put.query = {{"path", dir}, {"noOverwriteDirNonDir", "true"}};
    if (o.archive) put.query.emplace_back("copyUIDGID", "true");
    put.content_type = "application/x-tar";
    if (src == "-") {
        api::client::FdBodySource body(0, "stdin");
        put.stream_body = &body;
        return c.call(put).map([](auto&&) {});
    }
    struct stat sb {};
    if (::lstat(src.c_str(), &sb) != 0)
        return make_error(Errc::NotFound, "stat {}: no such file or directory", src);
    std::string src_base = base_name(src);
    std::vector<std::string> args = {"-c", "-f", "-", "-C", dirname_of(src)};
    if (o.follow_link) args.push_back("-h");
    if (!rename.empty() && rename != src_base)
        args.push_back("--transform=s|^" + src_base + "|" + rename + "|");
    args.push_back(src_base);
    auto [child, fd] = BERTH_TRY(spawn_tar(args, false));
    struct Counting final : api::client::BodySource {
        int fd;
        uint64_t total = 0;
        explicit Counting(int f) : fd(f) {}
        Result<size_t> read(char* buf, size_t n) override {
            while (true) {
                ssize_t r = ::read(fd, buf, n);
                if (r >= 0) {
                    total += static_cast<uint64_t>(r);
                    return static_cast<size_t>(r);
                }
                if (errno != EINTR) return BERTH_SYS_ERROR("read tar's output");
            }
        }
    } body(fd.get());
    put.stream_body = &body;
    auto r = c.call(put);
    fd.reset();
    auto w = wait_tar(child);
    BERTH_TRY(r);
    BERTH_TRY(w);
    report_copied(o, body.total, container + ":" + dst);
    return {};
}

void run_cp(Context& ctx, const CpOptions& o) {
    auto [sc, sp] = split_cp_arg(o.args[0]);
    auto [dc, dp] = split_cp_arg(o.args[1]);
    if (sc.empty() == dc.empty()) {
        return fail(ctx, Error{Errc::InvalidArgument, 0,
                               sc.empty() ? "must specify at least one container source"
                                          : "copying between containers is not supported"});
    }
    auto client = ctx.client();
    if (!client) return fail(ctx, client.error());
    Result<void> r = sc.empty() ? copy_to_container(**client, o, sp, dc, dp)
                                : copy_from_container(**client, o, sc, sp, dp);
    if (!r) return fail(ctx, r.error());
}

}  // namespace

void add_cp(CLI::App* parent, Context& ctx) {
    auto o = std::make_shared<CpOptions>();
    auto* c = parent->add_subcommand(
        "cp", "Copy files/folders between a container and the local filesystem");
    c->add_flag("-a,--archive", o->archive, "Archive mode (copy all uid/gid information)");
    c->add_flag("-L,--follow-link", o->follow_link, "Always follow symbol link in SRC_PATH");
    c->add_flag("-q,--quiet", o->quiet,
                "Suppress progress output during copy. Progress output is automatically suppressed "
                "if no terminal is attached");
    c->add_option("args", o->args, "SRC_PATH DEST_PATH")->required()->expected(2);
    c->callback([o, &ctx] { run_cp(ctx, *o); });
}

}  // namespace berth::cli
