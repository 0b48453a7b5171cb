// Repository over the distribution spec's HTTP API (docker-api.md §5.3, §5.4): manifests with
// digest checks, blob downloads resumed with Range, monolithic and chunked uploads, mounts, tags.

#include "remote_repository.hpp"

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "berth/common/log.hpp"
#include "berth/common/strings.hpp"
#include "berth/oci/image_spec.hpp"

namespace berth::registry::client {
namespace {

constexpr size_t kMaxManifest = 4u << 20;

std::string manifest_accept() {
    return fmt::format("Accept: {}, {}, {}, {}", oci::media_type::kDockerManifest,
                       oci::media_type::kDockerManifestList, oci::media_type::kOciManifest,
                       oci::media_type::kOciIndex);
}

bool looks_like_digest(std::string_view ref) {
    return ref.find(':') != std::string_view::npos;
}

std::string with_query(const std::string& url, std::string_view kv) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + std::string(kv);
}

// Reads from `source` until `cap` bytes or its end.
Result<size_t> fill(const ByteSource& source, char* buf, size_t cap, bool* eof) {
    size_t got = 0;
    *eof = false;
    while (got < cap) {
        size_t n = BERTH_TRY(source(buf + got, cap - got));
        if (n == 0) {
            *eof = true;
            break;
        }
        got += n;
    }
    return got;
}

std::string bare_media_type(std::string_view ct) {
    auto semi = ct.find(';');
    return std::string(trim(ct.substr(0, semi)));
}

}  // namespace

RemoteRepository::RemoteRepository(std::shared_ptr<Session> session, std::string name,
                                   std::vector<std::string> scopes)
    : req_(std::move(session)), name_(std::move(name)), scopes_(std::move(scopes)) {}

std::string RemoteRepository::what(std::string_view object) const {
    return fmt::format("{}/{}: {}", req_.shared_session()->registry(), name_, object);
}

std::string RemoteRepository::path(std::string_view tail) const {
    return fmt::format("/v2/{}/{}", name_, tail);
}

const std::string& RemoteRepository::registry() const {
    return req_.shared_session()->registry();
}

Result<std::unique_ptr<Repository>> RemoteRepository::clone() const {
    return std::unique_ptr<Repository>(new RemoteRepository(req_.shared_session(), name_, scopes_));
}

Result<FetchedManifest> RemoteRepository::get_manifest(std::string_view reference) {
    std::string obj = fmt::format("manifest {}", reference);
    std::optional<Digest> want;
    if (looks_like_digest(reference))
        want = BERTH_TRY_CTX(Digest::parse(reference), "{}", what(obj));
    Call c;
    c.url = path(fmt::format("manifests/{}", reference));
    c.headers.push_back(manifest_accept());
    c.max_body = kMaxManifest;
    auto r = BERTH_TRY_CTX(req_.send(c, scopes_), "{}", what(obj));
    if (r.status != 200) return Unexpected(registry_error(r, what(obj)));
    if (r.truncated) {
        return make_error(Errc::InvalidArgument, "{}: larger than the {} bytes allowed", what(obj),
                          kMaxManifest);
    }
    std::string media_type = bare_media_type(r.header("content-type").value_or(""));
    if (!oci::is_manifest_media_type(media_type) && !oci::is_index_media_type(media_type)) {
        // Generic or missing Content-Type: the manifest says what it is.
        if (auto mt = oci::detect_media_type(r.body)) media_type = *mt;
    }
    std::optional<Digest> header_digest;
    if (auto h = r.header("docker-content-digest")) {
        auto d = Digest::parse(*h);
        if (!d) {
            return make_error(Errc::InvalidArgument, "{}: bad Docker-Content-Digest {:?}",
                              what(obj), *h);
        }
        header_digest = *d;
    }
    std::string alg = want            ? want->algorithm()
                      : header_digest ? header_digest->algorithm()
                                      : std::string(Digest::kSha256);
    Hasher h(alg);
    h.update(r.body);
    FetchedManifest m{std::move(r.body), std::move(media_type), h.finish()};
    if (want && m.digest != *want) {
        return make_error(Errc::InvalidArgument, "{}: content has digest {}", what(obj),
                          m.digest.string());
    }
    if (header_digest && header_digest->algorithm() == m.digest.algorithm() &&
        *header_digest != m.digest) {
        return make_error(Errc::InvalidArgument,
                          "{}: registry says digest {} but the content has {}", what(obj),
                          header_digest->string(), m.digest.string());
    }
    return m;
}

Result<std::optional<BlobStat>> RemoteRepository::stat_manifest(std::string_view reference) {
    std::string obj = fmt::format("manifest {}", reference);
    Call c;
    c.method = "HEAD";
    c.url = path(fmt::format("manifests/{}", reference));
    c.headers.push_back(manifest_accept());
    auto r = BERTH_TRY_CTX(req_.send(c, scopes_), "{}", what(obj));
    if (r.status == 404) return std::optional<BlobStat>();
    if (r.status != 200) return Unexpected(registry_error(r, what(obj)));
    auto h = r.header("docker-content-digest");
    auto d = h ? Digest::parse(*h) : Result<Digest>(make_error(Errc::NotFound, "none"));
    if (!d) {
        // Without a usable digest header, the bytes tell.
        auto m = BERTH_TRY(get_manifest(reference));
        return std::optional<BlobStat>(
            BlobStat{m.digest, static_cast<int64_t>(m.bytes.size()), m.media_type});
    }
    BlobStat st{*d, 0, bare_media_type(r.header("content-type").value_or(""))};
    if (auto len = r.header("content-length")) st.size = parse_int(*len).value_or(0);
    return std::optional<BlobStat>(st);
}

Result<Digest> RemoteRepository::put_manifest(std::string_view reference,
                                              std::string_view media_type, std::string_view bytes) {
    std::string obj = fmt::format("put manifest {}", reference);
    std::optional<Digest> want;
    if (looks_like_digest(reference))
        want = BERTH_TRY_CTX(Digest::parse(reference), "{}", what(obj));
    Hasher h(want ? want->algorithm() : std::string(Digest::kSha256));
    h.update(bytes);
    Digest own = h.finish();
    if (want && own != *want) {
        return make_error(Errc::InvalidArgument, "{}: content has digest {}", what(obj),
                          own.string());
    }
    Call c;
    c.method = "PUT";
    c.url = path(fmt::format("manifests/{}", reference));
    c.headers.push_back(fmt::format("Content-Type: {}", media_type));
    c.body = bytes;
    auto r = BERTH_TRY_CTX(req_.send(c, scopes_), "{}", what(obj));
    if (r.status != 201 && r.status != 200 && r.status != 202) {
        return Unexpected(registry_error(r, what(obj)));
    }
    if (auto hd = r.header("docker-content-digest")) {
        auto d = Digest::parse(*hd);
        if (!d) {
            return make_error(Errc::InvalidArgument, "{}: bad Docker-Content-Digest {:?}",
                              what(obj), *hd);
        }
        if (d->algorithm() == own.algorithm() && *d != own) {
            return make_error(Errc::InvalidArgument,
                              "{}: registry stored digest {} but the content has {}", what(obj),
                              d->string(), own.string());
        }
    }
    return own;
}

Result<std::optional<BlobStat>> RemoteRepository::stat_blob(const Digest& digest) {
    std::string obj = fmt::format("blob {}", digest.string());
    Call c;
    c.method = "HEAD";
    c.url = path(fmt::format("blobs/{}", digest.string()));
    auto r = BERTH_TRY_CTX(req_.send(c, scopes_), "{}", what(obj));
    if (r.status == 404) return std::optional<BlobStat>();
    if (r.status != 200) return Unexpected(registry_error(r, what(obj)));
    BlobStat st{digest, -1, ""};
    if (auto len = r.header("content-length")) st.size = parse_int(*len).value_or(-1);
    return std::optional<BlobStat>(st);
}

Result<void> RemoteRepository::fetch_blob(const Digest& digest, int64_t expected_size,
                                          const ByteSink& sink) {
    std::string obj = fmt::format("blob {}", digest.string());
    const auto& opts = req_.session().options();
    const int attempts = std::max(1, opts.retry.attempts);
    uint64_t delivered = 0;
    int failures = 0;
    int resumes = 0;
    while (true) {
        std::optional<Error> stop;
        bool decided = false;
        uint64_t skip = 0;
        const uint64_t at_start = delivered;
        Call c;
        c.url = path(fmt::format("blobs/{}", digest.string()));
        c.idempotent = false;  // retried here, with Range
        if (delivered > 0) c.headers.push_back(fmt::format("Range: bytes={}-", delivered));
        c.sink = [&](const HttpResponse& resp, std::string_view chunk) {
            if (!decided) {
                decided = true;
                if (resp.status == 206) {
                    // "bytes N-M/T": the registry must continue where we stopped.
                    auto cr = resp.header("content-range").value_or("");
                    auto sp = cr.find(' ');
                    auto dash = cr.find('-');
                    auto start = (sp != std::string::npos && dash != std::string::npos && dash > sp)
                                     ? parse_uint(cr.substr(sp + 1, dash - sp - 1))
                                     : std::nullopt;
                    if (!start || *start != delivered) {
                        stop = Error{Errc::InvalidArgument, 0,
                                     fmt::format("{}: resumed at byte {} but the registry sent "
                                                 "Content-Range {:?}",
                                                 what(obj), delivered, cr)};
                        return false;
                    }
                } else {
                    // A full answer: skip what the sink already has.
                    skip = delivered;
                }
            }
            if (skip > 0) {
                size_t n = std::min<uint64_t>(skip, chunk.size());
                chunk.remove_prefix(n);
                skip -= n;
            }
            if (chunk.empty()) return true;
            if (expected_size >= 0 &&
                delivered + chunk.size() > static_cast<uint64_t>(expected_size)) {
                stop = Error{
                    Errc::InvalidArgument, 0,
                    fmt::format("{}: more than the expected {} bytes", what(obj), expected_size)};
                return false;
            }
            auto ok = sink(chunk);
            if (!ok) {
                stop = ok.error();
                return false;
            }
            delivered += chunk.size();
            return true;
        };
        auto r = req_.send(c, scopes_);
        if (stop) return Unexpected(std::move(*stop));
        std::optional<Error> retryable;
        const HttpResponse* resp = nullptr;
        if (!r) {
            if (r.error().code != Errc::Unavailable)
                return Unexpected(r.error().wrap("{}", what(obj)));
            retryable = r.error();
        } else if (r->status == 200 || r->status == 206) {
            if (expected_size < 0 || delivered == static_cast<uint64_t>(expected_size)) return {};
            retryable =
                Error{Errc::Unavailable, 0,
                      fmt::format("transfer ended at byte {} of {}", delivered, expected_size)};
        } else if (r->status == 416 && expected_size >= 0 &&
                   delivered == static_cast<uint64_t>(expected_size)) {
            return {};
        } else if (r->status >= 500 || r->status == 429) {
            retryable = registry_error(*r, what(obj));
            resp = &*r;
        } else {
            return Unexpected(registry_error(*r, what(obj)));
        }
        // A transfer that moved bytes resets the failure count: a flaky link still finishes.
        if (delivered > at_start) {
            failures = 0;
            if (++resumes > 1000) return Unexpected(std::move(*retryable).wrap("{}", what(obj)));
            BLOG_DEBUG("{}: resuming at byte {}", what(obj), delivered);
            continue;
        }
        if (++failures >= attempts) {
            return Unexpected(std::move(*retryable).wrap("{}", what(obj)));
        }
        req_.back_off(failures, resp);
    }
}

Result<std::string> RemoteRepository::start_upload(std::string_view query,
                                                   std::vector<std::string>& scopes, long* status) {
    Call c;
    c.method = "POST";
    c.url = path("blobs/uploads/") + std::string(query);
    c.idempotent = false;
    auto r = BERTH_TRY(req_.send(c, scopes));
    *status = r.status;
    if (r.status == 201) return std::string();
    if (r.status != 202) return Unexpected(registry_error(r, "start upload"));
    auto loc = r.header("location");
    if (!loc) {
        return make_error(Errc::InvalidArgument, "start upload: 202 without Location");
    }
    return resolve_url(r.url, *loc);
}

void RemoteRepository::cancel_upload(const std::string& location) {
    if (location.empty()) return;
    Call c;
    c.method = "DELETE";
    c.url = location;
    c.idempotent = false;
    auto r = req_.send(c, scopes_);
    if (!r) BLOG_DEBUG("{}: cancel upload: {}", what("upload"), r.error().msg);
}

Result<std::string> RemoteRepository::patch_chunk(const std::string& location,
                                                  std::string_view bytes, uint64_t offset) {
    Call c;
    c.method = "PATCH";
    c.url = location;
    c.idempotent = false;
    c.body = bytes;
    c.headers.emplace_back("Content-Type: application/octet-stream");
    if (!bytes.empty()) {
        c.headers.push_back(fmt::format("Content-Range: {}-{}", offset, offset + bytes.size() - 1));
    }
    auto r = BERTH_TRY(req_.send(c, scopes_));
    if (r.status != 202 && r.status != 204) {
        return Unexpected(
            registry_error(r, fmt::format("upload bytes {}-{}", offset, offset + bytes.size())));
    }
    auto loc = r.header("location");
    return loc ? resolve_url(r.url, *loc) : Result<std::string>(location);
}

Result<void> RemoteRepository::finish_upload(const std::string& location, const Digest& digest,
                                             std::optional<std::string_view> body) {
    Call c;
    c.method = "PUT";
    c.url = with_query(location, "digest=" + url_escape(digest.string()));
    c.idempotent = false;
    c.body = body ? *body : std::string_view();
    c.headers.emplace_back("Content-Type: application/octet-stream");
    auto r = BERTH_TRY(req_.send(c, scopes_));
    if (r.status != 201 && r.status != 204 && r.status != 200) {
        return Unexpected(registry_error(r, "commit upload"));
    }
    if (auto hd = r.header("docker-content-digest")) {
        auto d = Digest::parse(*hd);
        if (d && d->algorithm() == digest.algorithm() && *d != digest) {
            return make_error(Errc::InvalidArgument, "commit upload: registry stored {}",
                              d->string());
        }
    }
    return {};
}

Result<bool> RemoteRepository::mount_blob(const Digest& digest, std::string_view from_repository) {
    std::string obj = fmt::format("mount blob {} from {}", digest.string(), from_repository);
    std::vector<std::string> scopes = scopes_;
    merge_scope(scopes, fmt::format("repository:{}:pull,push", name_));
    merge_scope(scopes, fmt::format("repository:{}:pull", from_repository));
    long status = 0;
    auto loc =
        BERTH_TRY_CTX(start_upload(fmt::format("?mount={}&from={}", url_escape(digest.string()),
                                               url_escape(from_repository)),
                                   scopes, &status),
                      "{}", what(obj));
    if (status == 201) return true;
    cancel_upload(loc);
    return false;
}

Result<void> RemoteRepository::push_blob(const Digest& digest, int64_t size,
                                         const ByteSource& source) {
    std::string obj = fmt::format("push blob {}", digest.string());
    const size_t chunk = std::max<size_t>(req_.session().options().chunk_size, 1);
    long status = 0;
    std::string loc = BERTH_TRY_CTX(start_upload("", scopes_, &status), "{}", what(obj));
    auto result = [&]() -> Result<void> {
        std::string buf;
        bool eof = false;
        if (size >= 0 && static_cast<uint64_t>(size) <= chunk) {
            // Small: one PUT with the body (reading one byte more proves the size).
            buf.resize(static_cast<size_t>(size) + 1);
            size_t got = BERTH_TRY(fill(source, buf.data(), buf.size(), &eof));
            if (got != static_cast<size_t>(size)) {
                return make_error(Errc::InvalidArgument, "source gave {}{} bytes, not {}",
                                  got > static_cast<size_t>(size) ? "more than " : "",
                                  std::min<size_t>(got, size), size);
            }
            buf.resize(got);
            return finish_upload(loc, digest, std::string_view(buf));
        }
        uint64_t offset = 0;
        buf.resize(chunk);
        while (!eof) {
            size_t got = BERTH_TRY(fill(source, buf.data(), chunk, &eof));
            if (got == 0) break;
            if (size >= 0 && offset + got > static_cast<uint64_t>(size)) {
                return make_error(Errc::InvalidArgument, "source gave more than {} bytes", size);
            }
            loc = BERTH_TRY(patch_chunk(loc, std::string_view(buf.data(), got), offset));
            offset += got;
        }
        if (size >= 0 && offset != static_cast<uint64_t>(size)) {
            return make_error(Errc::InvalidArgument, "source gave {} bytes, not {}", offset, size);
        }
        return finish_upload(loc, digest, std::nullopt);
    }();
    if (!result) {
        cancel_upload(loc);
        return Unexpected(result.error().wrap("{}", what(obj)));
    }
    return {};
}

Result<BlobStat> RemoteRepository::push_blob_streaming(
    const ByteSource& source, const std::function<Digest()>& digest_at_end) {
    const size_t chunk = std::max<size_t>(req_.session().options().chunk_size, 1);
    long status = 0;
    std::string loc = BERTH_TRY_CTX(start_upload("", scopes_, &status), "{}", what("push blob"));
    uint64_t offset = 0;
    std::optional<Digest> digest;
    auto result = [&]() -> Result<void> {
        // Two buffers: the source (a layer compressed on the fly) fills the next chunk on a
        // thread of its own while this one is sent, so compressing and uploading overlap
        // instead of taking turns. The source is only ever called from one thread at a time.
        std::string cur(chunk, '\0'), next(chunk, '\0');
        bool eof = false;
        size_t got = BERTH_TRY(fill(source, cur.data(), chunk, &eof));
        while (got > 0) {
            Result<size_t> next_got = size_t{0};
            bool next_eof = true;
            std::thread producer;
            if (!eof) {
                producer = std::thread(
                    [&] { next_got = fill(source, next.data(), chunk, &next_eof); });
            }
            auto sent = patch_chunk(loc, std::string_view(cur.data(), got), offset);
            if (producer.joinable()) producer.join();
            if (!sent) return Unexpected(std::move(sent).error());
            loc = std::move(*sent);
            offset += got;
            if (!next_got) return Unexpected(std::move(next_got).error());
            got = *next_got;
            eof = next_eof;
            std::swap(cur, next);
        }
        digest = digest_at_end();
        return finish_upload(loc, *digest, std::nullopt);
    }();
    if (!result) {
        cancel_upload(loc);
        std::string obj =
            digest ? fmt::format("push blob {}", digest->string()) : std::string("push blob");
        return Unexpected(result.error().wrap("{}", what(obj)));
    }
    return BlobStat{*digest, static_cast<int64_t>(offset), ""};
}

Result<std::vector<std::string>> RemoteRepository::tags() {
    std::vector<std::string> out;
    std::string url = path("tags/list");
    for (int page = 0; page < 10000 && !url.empty(); ++page) {
        Call c;
        c.url = url;
        c.max_body = 16u << 20;
        auto r = BERTH_TRY_CTX(req_.send(c, scopes_), "{}", what("tags"));
        if (r.status != 200) return Unexpected(registry_error(r, what("tags")));
        try {
            auto j = nlohmann::json::parse(r.body);
            if (j.contains("tags") && j["tags"].is_array()) {
                for (const auto& t : j["tags"]) out.push_back(t.get<std::string>());
            }
        } catch (const nlohmann::json::exception& e) {
            return make_error(Errc::InvalidArgument, "{}: bad tag list: {}", what("tags"),
                              e.what());
        }
        url.clear();
        // Link: </v2/name/tags/list?n=100&last=x>; rel="next"
        for (const auto& link : r.header_all("link")) {
            auto lt = link.find('<');
            auto gt = link.find('>');
            if (lt == std::string::npos || gt == std::string::npos || gt < lt) continue;
            if (link.find("rel=\"next\"", gt) == std::string::npos &&
                link.find("rel=next", gt) == std::string::npos) {
                continue;
            }
            url = BERTH_TRY(resolve_url(r.url, link.substr(lt + 1, gt - lt - 1)));
        }
    }
    return out;
}

}  // namespace berth::registry::client
