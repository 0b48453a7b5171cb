#include <fcntl.h>

#include "berth/api/server/routes.hpp"
#include "berth/common/unique_fd.hpp"
#include "registry_routes_internal.hpp"

namespace berth::api {

namespace {

Result<void> get_images_json(ImageBackend& b, Request& req, ResponseWriter& rw) {
    ImageListOptions opts;
    opts.filters = BERTH_TRY(req.filters());
    // Before 1.41 a bare `filter=<reference>` parameter existed (moby keeps honouring it).
    if (!req.version_at_least("1.41")) {
        if (std::string f = req.query.get("filter"); !f.empty()) opts.filters.add("reference", f);
    }
    BERTH_TRY(
        opts.filters.validate({"before", "dangling", "label", "reference", "since", "until"}));
    opts.all = req.query.get_bool("all");
    opts.shared_size = req.version_at_least("1.42") && req.query.get_bool("shared-size");
    opts.digests = req.query.get_bool("digests");
    auto images = BERTH_TRY(b.list(opts));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& img : images) {
        nlohmann::json j = img;
        if (!req.version_at_least("1.44")) j["VirtualSize"] = img.size;  // dropped at 1.44
        out.push_back(std::move(j));
    }
    return rw.send_json(200, out);
}

Result<void> get_image_json(ImageBackend& b, Request& req, ResponseWriter& rw) {
    auto img = BERTH_TRY(b.inspect(req.var("name")));
    nlohmann::json j = img;
    if (!req.version_at_least("1.44")) j["VirtualSize"] = img.size;
    return rw.send_json(200, j);
}

Result<void> get_image_history(ImageBackend& b, Request& req, ResponseWriter& rw) {
    auto items = BERTH_TRY(b.history(req.var("name")));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& it : items) out.push_back(it);
    return rw.send_json(200, out);
}

Result<void> post_image_tag(ImageBackend& b, Request& req, ResponseWriter& rw) {
    std::string repo = req.query.get("repo");
    if (repo.empty())
        return make_error(Errc::InvalidArgument, "repository name (repo) is required");
    BERTH_TRY(b.tag(req.var("name"), repo, req.query.get("tag")));
    return rw.send_status(201);
}

Result<void> delete_image(ImageBackend& b, Request& req, ResponseWriter& rw) {
    std::string name = req.var("name");
    if (name.empty()) return make_error(Errc::InvalidArgument, "image name cannot be blank");
    auto list =
        BERTH_TRY(b.remove(name, req.query.get_bool("force"), req.query.get_bool("noprune")));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : list) out.push_back(d);
    return rw.send_json(200, out);
}

Result<void> post_images_prune(ImageBackend& b, Request& req, ResponseWriter& rw) {
    Filters f = BERTH_TRY(req.filters());
    BERTH_TRY(f.validate({"dangling", "label", "label!", "until"}));
    auto report = BERTH_TRY(b.prune(f));
    // The CLI fails with "EOF" on an empty body: always answer with the JSON report.
    return rw.send_json(200, report);
}

// POST /images/create: pull (registry_routes.cpp) or import. Errors before any output become
// HTTP errors, later ones an error line in the JSON stream (moby's WriteFlusher behaviour).
Result<void> post_images_create(ImageBackend& b, Request& req, ResponseWriter& rw) {
    if (!req.query.get("fromImage").empty()) return detail::post_images_create_pull(b, req, rw);
    ImportParams p;
    p.from_src = req.query.get("fromSrc");
    p.repo = req.query.get("repo");
    p.tag = req.query.get("tag");
    p.message = req.query.get("message");
    p.changes = req.query.get_all("changes");
    p.platform = req.query.get("platform");
    if (p.from_src.empty())
        return make_error(Errc::InvalidArgument, "fromImage or fromSrc is required");
    if (p.from_src != "-")
        return make_error(Errc::Unsupported,
                          "importing from a URL is not supported: {} (send the tar as the body "
                          "with fromSrc=-)",
                          p.from_src);
    LazyStream out(rw, "application/json");
    JsonProgressWriter progress(out);
    auto id = b.import(req.body(), p, progress);
    if (!id) {
        if (!out.started()) return Unexpected(std::move(id).error());
        return progress.error(id.error().what());
    }
    return progress.status("", *id);
}

Result<void> save_images(ImageBackend& b, const std::vector<std::string>& names,
                         ResponseWriter& rw) {
    // The backend knows the tar's size before its first byte: the answer has a Content-Length
    // and the tar goes straight to the socket (no pipe, no chunks), where the client can splice
    // it into its file. After the first byte an error can only cut the tar short (the
    // connection is dropped).
    UniqueFd sink;
    return b.save(names, [&](uint64_t size) -> Result<int> {
        int fd = BERTH_TRY(rw.start_body(200, "application/x-tar", size));
        if (fd >= 0) return fd;
        sink.reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));  // HEAD: nothing goes out
        if (!sink) return BERTH_SYS_ERROR("open /dev/null");
        return sink.get();
    });
}

Result<void> get_images_get(ImageBackend& b, Request& req, ResponseWriter& rw) {
    auto names = req.query.get_all("names");
    if (names.empty())
        return make_error(Errc::InvalidArgument, "no images to save: names is empty");
    return save_images(b, names, rw);
}

Result<void> get_image_get(ImageBackend& b, Request& req, ResponseWriter& rw) {
    return save_images(b, {req.var("name")}, rw);
}

// POST /images/load: Content-Type application/json so that the CLI shows the lines; errors
// are stream lines with status 200, as moby answers.
Result<void> post_images_load(ImageBackend& b, Request& req, ResponseWriter& rw) {
    bool quiet = req.query.get_bool("quiet");
    LazyStream out(rw, "application/json");
    JsonProgressWriter progress(out, quiet);
    auto r = b.load(req.body(), quiet, progress);
    if (!r) return progress.error(r.error().what());
    return out.start();
}

}  // namespace

void register_image_routes(Router& router, ImageBackend& backend) {
    auto bind = [&backend](Result<void> (*fn)(ImageBackend&, Request&, ResponseWriter&)) {
        return [&backend, fn](Request& req, ResponseWriter& rw) { return fn(backend, req, rw); };
    };
    // Same order as moby's image router: fixed paths before the greedy {name:.*} ones.
    router.add("GET", "/images/json", bind(get_images_json));
    router.add("GET", "/images/get", bind(get_images_get));
    router.add("GET", "/images/{name:.*}/get", bind(get_image_get));
    router.add("GET", "/images/{name:.*}/history", bind(get_image_history));
    router.add("GET", "/images/{name:.*}/json", bind(get_image_json));
    router.add("POST", "/images/load", bind(post_images_load));
    router.add("POST", "/images/create", bind(post_images_create));
    router.add("POST", "/images/prune", bind(post_images_prune));
    router.add("POST", "/images/{name:.*}/tag", bind(post_image_tag));
    router.add("DELETE", "/images/{name:.*}", bind(delete_image));
    detail::register_registry_routes(router, backend);  // push, /auth
}

}  // namespace berth::api
