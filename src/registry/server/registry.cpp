// The distribution spec's endpoints (end-1..end-13), following distribution/distribution's
// registry/handlers where the spec leaves a choice.
#include "registry.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"
#include "berth/common/log.hpp"
#include "berth/common/scope_exit.hpp"
#include "berth/common/strings.hpp"
#include "berth/oci/image_spec.hpp"
#include "spec.hpp"

namespace berth::registry::server {

/// The registry's name among the holders of blobs in a shared content store (content_store.hpp).
constexpr std::string_view kHolder = "registry";

using json = nlohmann::json;
using oci::media_type::kOciIndex;
using oci::media_type::kOciManifest;

namespace {

constexpr size_t kBodyChunk = 256 * 1024;

HttpResponse empty(unsigned status) {
    HttpResponse r;
    r.status = status;
    return r;
}

HttpResponse json_response(unsigned status, std::string body, std::string_view type) {
    HttpResponse r;
    r.status = status;
    r.set("Content-Type", std::string(type));
    r.body = std::move(body);
    return r;
}

HttpResponse method_not_allowed() {
    auto r = error_response(Code::Unsupported, "method not allowed");
    r.status = 405;
    return r;
}

std::string join_range(size_t from, size_t to, const std::vector<std::string>& parts) {
    std::string out;
    for (size_t i = from; i < to; ++i) {
        if (i > from) out += '/';
        out += parts[i];
    }
    return out;
}

// "0-<last>" of an upload of `size` bytes; "0-0" when nothing is written (distribution's form).
std::string range_of(uint64_t size) {
    return fmt::format("0-{}", size > 0 ? size - 1 : 0);
}

// Content-Range of a chunk: "<start>-<end>", also accepting "bytes <s>-<e>/<total>".
bool parse_content_range(std::string_view v, uint64_t& start, uint64_t& end) {
    v = trim(v);
    if (v.rfind("bytes", 0) == 0) {
        v.remove_prefix(5);
        while (!v.empty() && (v[0] == ' ' || v[0] == '=')) v.remove_prefix(1);
    }
    size_t slash = v.find('/');
    if (slash != std::string_view::npos) v = v.substr(0, slash);
    size_t dash = v.find('-');
    if (dash == std::string_view::npos) return false;
    auto s = parse_uint(v.substr(0, dash));
    auto e = parse_uint(v.substr(dash + 1));
    if (!s || !e || *e < *s) return false;
    start = *s;
    end = *e;
    return true;
}

Result<Digest> parse_digest(std::string_view s) {
    return Digest::parse(s);
}

std::string uuid_from_hex(const std::string& h) {
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

// Pagination of a sorted list by `n` and `last`, as tags/list and _catalog share it.
struct Page {
    std::vector<std::string> items;
    bool more = false;
    std::optional<uint64_t> n;
};

Result<Page> paginate(const std::vector<std::string>& all, const HttpRequest& req) {
    Page p;
    if (auto n = req.param("n"); n && !n->empty()) {
        p.n = parse_uint(*n);
        if (!p.n) return make_error(Errc::InvalidArgument, "n={} is not a number", *n);
    }
    auto it = all.begin();
    if (auto last = req.param("last"); last && !last->empty())
        it = std::upper_bound(all.begin(), all.end(), *last);
    for (; it != all.end(); ++it) {
        if (p.n && p.items.size() >= *p.n) {
            p.more = true;
            break;
        }
        p.items.push_back(*it);
    }
    return p;
}

void set_link(HttpResponse& r, const std::string& base, const Page& p) {
    if (!p.more || !p.n || p.items.empty()) return;
    r.set("Link", fmt::format("<{}?n={}&last={}>; rel=\"next\"", base, *p.n,
                              percent_encode(p.items.back(), "-_.~/:")));
}

// A manifest reference: a digest (sets `digest`) or a tag; the error answer when it is neither.
std::optional<HttpResponse> parse_reference(const std::string& ref, std::optional<Digest>& digest) {
    if (ref.find(':') != std::string::npos) {
        auto d = Digest::parse(ref);
        if (!d) return error_response(Code::DigestInvalid, d.error().msg);
        digest = *d;
    } else if (!valid_tag(ref)) {
        return error_response(Code::TagInvalid, {}, nlohmann::json{{"tag", ref}}.dump());
    }
    return std::nullopt;
}

std::string media_type_of(std::string_view content_type) {
    std::string_view t = content_type.substr(0, content_type.find(';'));
    return std::string(trim(t));
}

}  // namespace

Registry::Registry(store::ContentStore store, std::optional<Htpasswd> auth, RegistryConfig cfg)
    : store_(std::move(store)),
      auth_(std::move(auth)),
      cfg_(cfg),
      repos_(path_join(store_.root(), "registry")) {
    // A quarter of the descriptors for upload sessions; connections and blobs need the rest.
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        max_uploads_ = std::max<size_t>(64, static_cast<size_t>(rl.rlim_cur) / 4);
}

HttpResponse Registry::internal(const Error& e, std::string_view what) {
    BLOG_WARN("registry: {}: {}", what, e.what());
    return json_response(
        500,
        fmt::format(R"({{"errors":[{{"code":"UNKNOWN","message":"{}","detail":null}}]}})",
                    json_escape(fmt::format("{}: {}", what, e.what()))),
        "application/json");
}

HttpResponse Registry::handle(HttpRequest& req) {
    HttpResponse r;
    if (auth_) {
        auto a = req.header("Authorization");
        if (!a || !auth_->check(*a)) {
            r = error_response(Code::Unauthorized);
            r.set("WWW-Authenticate", "Basic realm=\"berth-registry\"");
            r.set("Docker-Distribution-API-Version", "registry/2.0");
            return r;
        }
    }
    try {
        r = route(req);
    } catch (const std::exception& e) {
        r = internal(Error{Errc::Internal, 0, e.what()},
                     fmt::format("{} {}", req.method, req.path));
    }
    r.set("Docker-Distribution-API-Version", "registry/2.0");
    return r;
}

HttpResponse Registry::route(HttpRequest& req) {
    const std::string& m = req.method;
    bool get = m == "GET" || m == "HEAD";
    std::string_view path = req.path;
    if (path == "/v2" || path == "/v2/") {
        if (!get) return method_not_allowed();
        return json_response(200, "{}", "application/json");
    }
    if (path.rfind("/v2/", 0) != 0) {
        auto r = error_response(Code::Unsupported, "not a registry endpoint");
        r.status = 404;
        return r;
    }
    std::vector<std::string> parts;
    for (const auto& p : split(path.substr(4), '/')) parts.push_back(url_decode(p));
    if (!parts.empty() && parts.back().empty()) parts.pop_back();
    size_t n = parts.size();
    if (n == 1 && parts[0] == "_catalog") {
        if (!get) return method_not_allowed();
        return catalog(req);
    }

    enum class Kind {
        None,
        UploadStart,
        Upload,
        Blob,
        Manifest,
        Tags,
        Referrers
    } kind = Kind::None;
    size_t name_end = 0;
    if (n >= 3 && parts[n - 2] == "blobs" && parts[n - 1] == "uploads") {
        kind = Kind::UploadStart;
        name_end = n - 2;
    } else if (n >= 4 && parts[n - 3] == "blobs" && parts[n - 2] == "uploads") {
        kind = Kind::Upload;
        name_end = n - 3;
    } else if (n >= 3 && parts[n - 2] == "blobs") {
        kind = Kind::Blob;
        name_end = n - 2;
    } else if (n >= 3 && parts[n - 2] == "manifests") {
        kind = Kind::Manifest;
        name_end = n - 2;
    } else if (n >= 3 && parts[n - 2] == "tags" && parts[n - 1] == "list") {
        kind = Kind::Tags;
        name_end = n - 2;
    } else if (n >= 3 && parts[n - 2] == "referrers") {
        kind = Kind::Referrers;
        name_end = n - 2;
    }
    if (kind == Kind::None) {
        auto r = error_response(Code::Unsupported, "not a registry endpoint");
        r.status = 404;
        return r;
    }
    std::string name = join_range(0, name_end, parts);
    if (!valid_repo_name(name))
        return error_response(Code::NameInvalid, {}, json{{"name", name}}.dump());
    const std::string& last = parts[n - 1];

    switch (kind) {
        case Kind::UploadStart:
            if (m != "POST") return method_not_allowed();
            return upload_start(req, name);
        case Kind::Upload:
            if (m != "GET" && m != "PATCH" && m != "PUT" && m != "DELETE")
                return method_not_allowed();
            return upload_op(req, name, last);
        case Kind::Blob:
            if (get) return blob_get(req, name, last);
            if (m == "DELETE") return blob_delete(name, last);
            return method_not_allowed();
        case Kind::Manifest:
            if (get) return manifest_get(req, name, last);
            if (m == "PUT") return manifest_put(req, name, last);
            if (m == "DELETE") return manifest_delete(name, last);
            return method_not_allowed();
        case Kind::Tags:
            if (!get) return method_not_allowed();
            return tags_list(req, name);
        case Kind::Referrers:
            if (!get) return method_not_allowed();
            return referrers(req, name, last);
        case Kind::None:
            break;
    }
    return method_not_allowed();
}

// ---- discovery ----

HttpResponse Registry::catalog(HttpRequest& req) {
    auto all = repos_.list();
    if (!all) return internal(all.error(), "list repositories");
    auto page = paginate(*all, req);
    if (!page) return error_response(Code::Unsupported, page.error().msg);
    json j{{"repositories", page->items}};
    auto r = json_response(200, j.dump(), "application/json");
    set_link(r, "/v2/_catalog", *page);
    return r;
}

HttpResponse Registry::tags_list(HttpRequest& req, const std::string& name) {
    auto repo = repos_.get(name);
    if (!repo) return internal(repo.error(), fmt::format("read repository {}", name));
    if (!*repo) return error_response(Code::NameUnknown, {}, json{{"name", name}}.dump());
    std::vector<std::string> all;
    for (const auto& [t, d] : (*repo)->tags) all.push_back(t);
    auto page = paginate(all, req);
    if (!page) return error_response(Code::Unsupported, page.error().msg);
    json j{{"name", name}, {"tags", page->items}};
    auto r = json_response(200, j.dump(), "application/json");
    set_link(r, "/v2/" + name + "/tags/list", *page);
    return r;
}

HttpResponse Registry::referrers(HttpRequest& req, const std::string& name, const std::string& dg) {
    auto d = parse_digest(dg);
    if (!d) return error_response(Code::DigestInvalid, d.error().msg);
    auto repo = repos_.get(name);
    if (!repo) return internal(repo.error(), fmt::format("read repository {}", name));
    auto filter = req.param("artifactType");
    json list = json::array();
    if (*repo) {
        for (const auto& [md, meta] : (*repo)->manifests) {
            if (meta.subject != d->string()) continue;
            if (filter && meta.artifact_type != *filter) continue;
            json e{{"mediaType", meta.media_type}, {"digest", md}, {"size", meta.size}};
            if (!meta.artifact_type.empty()) e["artifactType"] = meta.artifact_type;
            if (!meta.annotations.empty()) e["annotations"] = json::parse(meta.annotations);
            list.push_back(std::move(e));
        }
    }
    json idx{{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", std::move(list)}};
    auto r = json_response(200, idx.dump(), kOciIndex);
    if (filter) r.set("OCI-Filters-Applied", "artifactType");
    return r;
}

// ---- blobs ----

HttpResponse Registry::blob_get(HttpRequest& req, const std::string& name, const std::string& dg) {
    auto d = parse_digest(dg);
    if (!d) return error_response(Code::DigestInvalid, d.error().msg);
    auto repo = repos_.get(name);
    if (!repo) return internal(repo.error(), fmt::format("read repository {}", name));
    std::string key = d->string();
    json detail{{"digest", key}};
    if (!*repo || (!(*repo)->blobs.count(key) && !(*repo)->manifests.count(key)))
        return error_response(Code::BlobUnknown, {}, detail.dump());
    auto fd = store_.open(*d);
    if (!fd) {
        if (fd.error().code == Errc::NotFound)
            return error_response(Code::BlobUnknown, {}, detail.dump());
        return internal(fd.error(), fmt::format("open blob {}", key));
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) < 0)
        return internal(Error{Errc::Internal, errno, "fstat"}, fmt::format("stat blob {}", key));
    uint64_t size = static_cast<uint64_t>(st.st_size);
    HttpResponse r;
    r.set("Content-Type", "application/octet-stream");
    r.set("Docker-Content-Digest", key);
    r.set("Accept-Ranges", "bytes");
    r.set("ETag", "\"" + key + "\"");
    r.set("Cache-Control", "max-age=31536000");
    uint64_t off = 0, len = size;
    if (auto range = req.header("Range"); range && req.method == "GET") {
        std::string_view v = trim(*range);
        bool ok = false;
        if (v.rfind("bytes=", 0) == 0 && v.find(',') == std::string_view::npos) {
            v.remove_prefix(6);
            size_t dash = v.find('-');
            if (dash != std::string_view::npos) {
                auto a = parse_uint(v.substr(0, dash));
                auto b = parse_uint(v.substr(dash + 1));
                if (dash == 0 && b) {  // suffix: the last b bytes
                    if (*b > 0 && size > 0) {
                        len = std::min(*b, size);
                        off = size - len;
                        ok = true;
                    }
                } else if (a && (dash + 1 == v.size() || b)) {
                    uint64_t end = b ? std::min(*b, size - (size > 0 ? 1 : 0)) : size - 1;
                    if (*a < size && (!b || *b >= *a)) {
                        off = *a;
                        len = end - *a + 1;
                        ok = true;
                    }
                }
            }
        }
        if (!ok) {
            auto e = error_response(Code::RangeInvalid);
            e.set("Content-Range", fmt::format("bytes */{}", size));
            return e;
        }
        r.status = 206;
        r.set("Content-Range", fmt::format("bytes {}-{}/{}", off, off + len - 1, size));
    }
    if (req.method == "HEAD") {
        r.head_length = size;
        return r;
    }
    r.file = std::move(*fd);
    r.offset = off;
    r.length = len;
    return r;
}

void Registry::collect(const std::string& digest) {
    auto d = parse_digest(digest);
    if (!d) return;
    std::lock_guard lk(gc_mu_);
    auto linked = repos_.linked_anywhere(digest);
    if (!linked || *linked) return;
    // No repository references it any more: the daemon sharing the store may delete it now.
    if (auto r = store_.release(*d, kHolder); !r)
        BLOG_WARN("registry: release blob {}: {}", digest, r.error().what());
    if (!repos_.owned(*d)) return;
    // Only blobs the registry wrote go: the daemon's images may use the rest.
    if (auto rm = store_.remove(*d); !rm && rm.error().code != Errc::NotFound) {
        BLOG_WARN("registry: remove unreferenced blob {}: {}", digest, rm.error().what());
        return;
    }
    repos_.unmark_owned(*d);
    BLOG_DEBUG("registry: removed unreferenced blob {}", digest);
}

HttpResponse Registry::blob_delete(const std::string& name, const std::string& dg) {
    auto d = parse_digest(dg);
    if (!d) return error_response(Code::DigestInvalid, d.error().msg);
    std::string key = d->string();
    bool found = false;
    auto up = repos_.update(name, [&](RepoData& r) {
        found = r.blobs.erase(key) > 0;
        return found;
    });
    if (!up) return internal(up.error(), fmt::format("unlink blob {} from {}", key, name));
    if (!found) return error_response(Code::BlobUnknown, {}, json{{"digest", key}}.dump());
    collect(key);
    return empty(202);
}

// ---- uploads ----

Result<uint64_t> Registry::stream_body(HttpRequest& req, store::ContentWriter& w) {
    std::vector<char> buf(kBodyChunk);
    uint64_t total = 0;
    for (;;) {
        size_t n = BERTH_TRY(req.body->read(buf.data(), buf.size()));
        if (n == 0) return total;
        BERTH_TRY(w.write(std::string_view(buf.data(), n)));
        total += n;
    }
}

Result<void> Registry::link_blob(const std::string& name, const Digest& d) {
    std::string key = d.string();
    // Held before it is linked: a daemon sharing the store must not delete a blob a
    // repository serves (its own images' configs, say, when they are removed).
    BERTH_TRY(store_.hold(d, kHolder));
    return repos_.update(name, [&](RepoData& r) { return r.blobs.insert(key).second; });
}

Result<void> Registry::finish_blob(const std::string& name, store::ContentWriter w,
                                   const Digest& d) {
    std::lock_guard lk(gc_mu_);
    bool existed = store_.exists(d);
    BERTH_TRY(w.commit(d));
    if (!existed)
        BERTH_TRY_CTX(repos_.mark_owned(d), "record blob {} as the registry's", d.string());
    return link_blob(name, d);
}

HttpResponse Registry::blob_created(const std::string& name, const Digest& d) {
    HttpResponse r;
    r.status = 201;
    r.set("Location", "/v2/" + name + "/blobs/" + d.string());
    r.set("Docker-Content-Digest", d.string());
    return r;
}

HttpResponse Registry::finish_failed(const Error& e, const std::string& name, const Digest& d) {
    // commit() says InvalidArgument when the bytes are not what the digest names.
    if (e.code == Errc::InvalidArgument)
        return error_response(Code::DigestInvalid, e.msg, json{{"digest", d.string()}}.dump());
    return internal(e, fmt::format("store blob {} in {}", d.string(), name));
}

HttpResponse Registry::new_session(const std::string& name) {
    // Every session holds an open ingest file: bound them, so clients that abandon uploads
    // faster than they expire cannot exhaust the descriptors.
    bool full = false;
    {
        std::lock_guard lk(uploads_mu_);
        full = uploads_.size() >= max_uploads_;
    }
    if (full) return error_response(Code::TooManyRequests, "too many upload sessions");
    auto w = store_.writer(Digest::kSha256);
    if (!w) return internal(w.error(), fmt::format("start an upload to {}", name));
    auto hex = random_hex(16);
    if (!hex) return internal(hex.error(), "make an upload id");
    std::string uuid = uuid_from_hex(*hex);
    auto up = std::make_shared<Upload>();
    up->repo = name;
    up->writer.emplace(std::move(*w));
    up->algorithm = std::string(Digest::kSha256);
    up->last_used = std::chrono::steady_clock::now();
    {
        std::lock_guard lk(uploads_mu_);
        uploads_.emplace(uuid, up);
    }
    return upload_status(name, uuid, *up, 202);
}

HttpResponse Registry::upload_status(const std::string& name, const std::string& uuid,
                                     const Upload& up, unsigned status) {
    HttpResponse r;
    r.status = status;
    r.set("Location", "/v2/" + name + "/blobs/uploads/" + uuid);
    r.set("Range", range_of(up.writer ? up.writer->offset() : 0));
    r.set("Docker-Upload-UUID", uuid);
    return r;
}

HttpResponse Registry::upload_start(HttpRequest& req, const std::string& name) {
    if (auto mount = req.param("mount")) {
        auto d = parse_digest(*mount);
        if (!d) return error_response(Code::DigestInvalid, d.error().msg);
        auto from = req.param("from");
        if (from && valid_repo_name(*from)) {
            std::lock_guard lk(gc_mu_);
            auto src = repos_.get(*from);
            if (src && *src && (*src)->blobs.count(d->string()) && store_.exists(*d)) {
                if (auto l = link_blob(name, *d); !l)
                    return internal(l.error(), fmt::format("mount {} into {}", d->string(), name));
                return blob_created(name, *d);
            }
        }
        // The source does not have it: an ordinary upload session (spec end-4b fallback).
        return new_session(name);
    }
    if (auto dg = req.param("digest")) {
        auto d = parse_digest(*dg);
        if (!d) return error_response(Code::DigestInvalid, d.error().msg);
        auto w = store_.writer(d->algorithm());
        if (!w) return internal(w.error(), fmt::format("upload {} to {}", d->string(), name));
        auto n = stream_body(req, *w);
        if (!n) return internal(n.error(), fmt::format("receive blob {}", d->string()));
        if (auto f = finish_blob(name, std::move(*w), *d); !f)
            return finish_failed(f.error(), name, *d);
        return blob_created(name, *d);
    }
    return new_session(name);
}

HttpResponse Registry::upload_op(HttpRequest& req, const std::string& name,
                                 const std::string& uuid) {
    std::shared_ptr<Upload> up;
    {
        std::lock_guard lk(uploads_mu_);
        auto it = uploads_.find(uuid);
        if (it != uploads_.end()) up = it->second;
    }
    json detail{{"uuid", uuid}};
    if (!up) return error_response(Code::BlobUploadUnknown, {}, detail.dump());
    std::lock_guard ulk(up->mu);
    if (up->gone || up->repo != name || !up->writer)
        return error_response(Code::BlobUploadUnknown, {}, detail.dump());
    up->last_used = std::chrono::steady_clock::now();
    // A long PATCH counts as activity until it ends, not from when it began.
    ScopeExit touch([u = up.get()] { u->last_used = std::chrono::steady_clock::now(); });
    auto remove_session = [&] {
        up->gone = true;
        std::lock_guard lk(uploads_mu_);
        uploads_.erase(uuid);
    };

    if (req.method == "GET") return upload_status(name, uuid, *up, 204);
    if (req.method == "DELETE") {
        remove_session();
        up->writer.reset();  // aborts: the ingest file goes
        return empty(204);
    }

    // PATCH, or PUT with an optional last chunk: the chunk must start where the upload is.
    std::optional<std::string> digest_param;
    if (req.method == "PUT") {
        digest_param = req.param("digest");
        if (!digest_param) return error_response(Code::DigestInvalid, "digest parameter missing");
    }
    std::optional<Digest> want;
    if (digest_param) {
        auto d = parse_digest(*digest_param);
        if (!d) return error_response(Code::DigestInvalid, d.error().msg);
        want = *d;
    }
    uint64_t start = 0, end = 0;
    auto cr = req.header("Content-Range");
    bool has_range = cr && !trim(*cr).empty();
    if (has_range) {
        if (!parse_content_range(*cr, start, end))
            return error_response(Code::RangeInvalid, "bad Content-Range " + *cr);
        if (start != up->writer->offset()) {
            auto r = error_response(Code::RangeInvalid,
                                    fmt::format("chunk out of order: starts at {}, upload is at {}",
                                                start, up->writer->offset()));
            r.set("Location", "/v2/" + name + "/blobs/uploads/" + uuid);
            r.set("Range", range_of(up->writer->offset()));
            r.set("Docker-Upload-UUID", uuid);
            return r;
        }
    }
    auto n = stream_body(req, *up->writer);
    if (!n) return internal(n.error(), fmt::format("receive upload {} of {}", uuid, name));
    if (has_range && *n > 0 && *n != end - start + 1) {
        return error_response(Code::SizeInvalid,
                              fmt::format("Content-Range {} but {} bytes received", *cr, *n));
    }
    if (req.method == "PATCH") return upload_status(name, uuid, *up, 202);

    // PUT: verify and publish. The session is over whatever the outcome.
    remove_session();
    store::ContentWriter w = std::move(*up->writer);
    up->writer.reset();
    if (want->algorithm() != up->algorithm) {
        // Chunks were hashed as sha256 (the digest comes only now): re-read them under the
        // digest's algorithm.
        auto w2 = store_.writer(want->algorithm());
        if (!w2) return internal(w2.error(), "start a " + want->algorithm() + " upload");
        UniqueFd in(::open(w.ingest_path().c_str(), O_RDONLY | O_CLOEXEC));
        if (!in) return internal(Error{Errc::Internal, errno, "open"}, "reopen upload");
        std::vector<char> buf(kBodyChunk);
        for (;;) {
            ssize_t r = ::read(in.get(), buf.data(), buf.size());
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) return internal(Error{Errc::Internal, errno, "read"}, "reread upload");
            if (r == 0) break;
            if (auto wr = w2->write(std::string_view(buf.data(), static_cast<size_t>(r))); !wr)
                return internal(wr.error(), "copy upload");
        }
        w.abort();
        w = std::move(*w2);
    }
    if (auto f = finish_blob(name, std::move(w), *want); !f)
        return finish_failed(f.error(), name, *want);
    return blob_created(name, *want);
}

size_t Registry::reap() {
    auto now = std::chrono::steady_clock::now();
    size_t removed = 0;
    std::vector<std::shared_ptr<Upload>> dead;
    {
        std::lock_guard lk(uploads_mu_);
        for (auto it = uploads_.begin(); it != uploads_.end();) {
            auto& up = it->second;
            std::unique_lock ul(up->mu, std::try_to_lock);
            if (ul.owns_lock() && now - up->last_used > cfg_.upload_expiry) {
                up->gone = true;
                up->writer.reset();
                BLOG_DEBUG("registry: upload {} to {} expired", it->first, up->repo);
                it = uploads_.erase(it);
                ++removed;
            } else {
                ++it;
            }
        }
    }
    if (auto r = store_.cleanup_ingests(cfg_.upload_expiry); !r)
        BLOG_WARN("registry: clean up stale ingests: {}", r.error().what());
    return removed;
}

// ---- manifests ----

HttpResponse Registry::manifest_get(HttpRequest& req, const std::string& name,
                                    const std::string& ref) {
    std::optional<Digest> ref_digest;
    if (auto bad = parse_reference(ref, ref_digest)) return std::move(*bad);
    bool by_digest = ref_digest.has_value();
    std::string key = by_digest ? ref_digest->string() : ref;
    auto repo = repos_.get(name);
    if (!repo) return internal(repo.error(), fmt::format("read repository {}", name));
    json detail{{"reference", ref}};
    if (!*repo) return error_response(Code::ManifestUnknown, {}, detail.dump());
    if (!by_digest) {
        auto t = (*repo)->tags.find(ref);
        if (t == (*repo)->tags.end())
            return error_response(Code::ManifestUnknown, {}, detail.dump());
        key = t->second;
    }
    auto m = (*repo)->manifests.find(key);
    if (m == (*repo)->manifests.end())
        return error_response(Code::ManifestUnknown, {}, detail.dump());
    auto d = parse_digest(key);
    if (!d) return internal(d.error(), "stored manifest digest");
    auto bytes = store_.read(*d);
    if (!bytes) {
        if (bytes.error().code == Errc::NotFound)
            return error_response(Code::ManifestUnknown, {}, detail.dump());
        return internal(bytes.error(), fmt::format("read manifest {}", key));
    }
    HttpResponse r;
    r.set("Content-Type", m->second.media_type);
    r.set("Docker-Content-Digest", key);
    r.set("ETag", "\"" + key + "\"");
    if (req.method == "HEAD") {
        r.head_length = bytes->size();
    } else {
        r.body = std::move(*bytes);
    }
    return r;
}

HttpResponse Registry::manifest_put(HttpRequest& req, const std::string& name,
                                    const std::string& ref) {
    std::optional<Digest> ref_digest;
    if (auto bad = parse_reference(ref, ref_digest)) return std::move(*bad);
    bool by_digest = ref_digest.has_value();
    auto body = req.body->read_all(cfg_.max_manifest_size);
    if (!body) {
        if (body.error().code == Errc::InvalidArgument) {
            auto r = error_response(Code::SizeInvalid, body.error().msg);
            r.status = 413;
            return r;
        }
        return internal(body.error(), "receive manifest");
    }
    json j;
    try {
        j = json::parse(*body);
    } catch (const json::exception& e) {
        return error_response(Code::ManifestInvalid,
                              fmt::format("manifest is no JSON: {}", e.what()));
    }
    if (!j.is_object()) return error_response(Code::ManifestInvalid, "manifest is no object");

    std::string ct = media_type_of(req.header("Content-Type").value_or(""));
    std::string mt;
    if (j.contains("mediaType") && j["mediaType"].is_string()) mt = j["mediaType"];
    std::string type;
    if (known_manifest_type(ct)) {
        if (!mt.empty() && mt != ct)
            return error_response(
                Code::ManifestInvalid,
                fmt::format("mediaType {} does not match Content-Type {}", mt, ct));
        type = ct;
    } else if (known_manifest_type(mt)) {
        type = mt;
    } else if (mt.empty() && j.contains("manifests")) {
        type = kOciIndex;
    } else if (mt.empty() && j.contains("config")) {
        type = kOciManifest;
    } else {
        return error_response(
            Code::ManifestInvalid,
            fmt::format("unsupported manifest media type \"{}\"", mt.empty() ? ct : mt));
    }

    Hasher h(ref_digest ? ref_digest->algorithm() : std::string(Digest::kSha256));
    h.update(*body);
    Digest digest = h.finish();
    if (ref_digest && digest != *ref_digest)
        return error_response(
            Code::DigestInvalid,
            fmt::format("manifest digest is {}, not {}", digest.string(), ref_digest->string()));

    auto repo = repos_.get(name);
    if (!repo) return internal(repo.error(), fmt::format("read repository {}", name));
    RepoData current = *repo ? **repo : RepoData{};

    ManifestMeta meta;
    meta.media_type = type;
    meta.size = body->size();
    try {
        auto check = [&](const json& desc, bool manifest) -> std::optional<HttpResponse> {
            if (!desc.is_object() || !desc.contains("digest") || !desc["digest"].is_string())
                return error_response(Code::ManifestInvalid, "descriptor without digest");
            auto d = parse_digest(desc["digest"].get<std::string>());
            if (!d) return error_response(Code::ManifestInvalid, d.error().msg);
            // Foreign layers live elsewhere (their `urls`): distribution does not require them.
            if (desc.contains("urls") && desc["urls"].is_array() && !desc["urls"].empty())
                return std::nullopt;
            bool known = manifest ? current.manifests.count(d->string()) > 0
                                  : current.blobs.count(d->string()) > 0;
            if (!known || !store_.exists(*d))
                return error_response(Code::ManifestBlobUnknown, {},
                                      json{{"digest", d->string()}}.dump());
            return std::nullopt;
        };
        if (is_index_type(type)) {
            if (!j.contains("manifests") || !j["manifests"].is_array())
                return error_response(Code::ManifestInvalid, "index without manifests");
            for (const auto& m : j["manifests"])
                if (auto e = check(m, true)) return std::move(*e);
        } else {
            if (!j.contains("config"))
                return error_response(Code::ManifestInvalid, "manifest without config");
            if (auto e = check(j["config"], false)) return std::move(*e);
            if (j.contains("layers")) {
                if (!j["layers"].is_array())
                    return error_response(Code::ManifestInvalid, "layers is no array");
                for (const auto& l : j["layers"])
                    if (auto e = check(l, false)) return std::move(*e);
            }
            if (j["config"].contains("mediaType") && j["config"]["mediaType"].is_string())
                meta.artifact_type = j["config"]["mediaType"];
        }
        if (j.contains("artifactType") && j["artifactType"].is_string())
            meta.artifact_type = j["artifactType"];
        if (j.contains("subject")) {
            const json& s = j["subject"];
            if (!s.is_object() || !s.contains("digest") || !s["digest"].is_string())
                return error_response(Code::ManifestInvalid, "subject without digest");
            auto sd = parse_digest(s["digest"].get<std::string>());
            if (!sd) return error_response(Code::ManifestInvalid, sd.error().msg);
            meta.subject = sd->string();
        }
        if (j.contains("annotations") && j["annotations"].is_object())
            meta.annotations = j["annotations"].dump();
    } catch (const json::exception& e) {
        return error_response(Code::ManifestInvalid, e.what());
    }

    std::string key = digest.string();
    {
        std::lock_guard lk(gc_mu_);
        bool existed = store_.exists(digest);
        if (auto held = store_.hold(digest, kHolder); !held)
            return internal(held.error(), fmt::format("hold manifest {}", key));
        if (auto p = store_.put(*body, digest); !p)
            return internal(p.error(), fmt::format("store manifest {}", key));
        if (!existed) {
            if (auto o = repos_.mark_owned(digest); !o)
                return internal(o.error(), fmt::format("record manifest {}", key));
        }
        auto up = repos_.update(name, [&](RepoData& r) {
            r.manifests[key] = meta;
            if (!by_digest) r.tags[ref] = key;
            return true;
        });
        if (!up) return internal(up.error(), fmt::format("record manifest {} in {}", key, name));
    }
    HttpResponse r;
    r.status = 201;
    r.set("Location", "/v2/" + name + "/manifests/" + key);
    r.set("Docker-Content-Digest", key);
    if (!meta.subject.empty()) r.set("OCI-Subject", meta.subject);
    return r;
}

HttpResponse Registry::manifest_delete(const std::string& name, const std::string& ref) {
    std::optional<Digest> ref_digest;
    if (auto bad = parse_reference(ref, ref_digest)) return std::move(*bad);
    bool by_digest = ref_digest.has_value();
    std::string key = by_digest ? ref_digest->string() : ref;
    bool found = false;
    auto up = repos_.update(name, [&](RepoData& r) {
        if (by_digest) {
            found = r.manifests.erase(key) > 0;
            if (!found) return false;
            for (auto it = r.tags.begin(); it != r.tags.end();)
                it = it->second == key ? r.tags.erase(it) : std::next(it);
            return true;
        }
        found = r.tags.erase(ref) > 0;
        return found;
    });
    if (!up) return internal(up.error(), fmt::format("delete manifest {} in {}", ref, name));
    if (!found) return error_response(Code::ManifestUnknown, {}, json{{"reference", ref}}.dump());
    if (by_digest) collect(key);
    return empty(202);
}

}  // namespace berth::registry::server
