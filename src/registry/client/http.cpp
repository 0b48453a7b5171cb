// libcurl transport. Redirects are off (the session follows them, to drop Authorization on a
// host change); bodies are sent from memory; extra CAs are added to OpenSSL's store so that the
// system CAs still count (CURLOPT_CAINFO would replace them).

#include "http.hpp"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "berth/common/strings.hpp"

namespace berth::registry::client {
namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// State the callbacks of one exchange share.
struct Exchange {
    const HttpRequest* req = nullptr;
    HttpResponse* resp = nullptr;
    bool sink_aborted = false;
    uint64_t body_bytes = 0;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    std::string_view line(data, size * n);
    line = trim(line);
    if (line.starts_with("HTTP/")) {
        // A new response (after 100 Continue, for instance): forget the previous headers.
        ex->resp->headers.clear();
        auto sp = line.find(' ');
        if (sp != std::string_view::npos) {
            auto code = parse_int(line.substr(sp + 1, 3));
            ex->resp->status = code ? static_cast<long>(*code) : 0;
        }
        return size * n;
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        ex->resp->headers.emplace_back(ascii_lower(trim(line.substr(0, colon))),
                                       std::string(trim(line.substr(colon + 1))));
    }
    return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    size_t len = size * n;
    std::string_view chunk(data, len);
    long st = ex->resp->status;
    if (ex->req->sink && st >= 200 && st < 300) {
        if (!ex->req->sink(*ex->resp, chunk)) {
            ex->sink_aborted = true;
            return 0;
        }
        ex->body_bytes += len;
        return len;
    }
    ex->body_bytes += len;
    size_t room =
        ex->req->max_body > ex->resp->body.size() ? ex->req->max_body - ex->resp->body.size() : 0;
    if (len > room) {
        ex->resp->truncated = true;
        ex->resp->body.append(data, room);
        return 0;  // no point reading a body we cannot keep
    }
    ex->resp->body.append(data, len);
    return len;
}

CURLcode on_ssl_ctx(CURL*, void* ssl_ctx, void* user) {
    auto* tls = static_cast<const TlsConfig*>(user);
    X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ssl_ctx));
    for (const auto& f : tls->ca_files) {
        if (X509_STORE_load_locations(store, f.c_str(), nullptr) != 1)
            return CURLE_SSL_CACERT_BADFILE;
    }
    return CURLE_OK;
}

bool is_tls_failure(CURLcode c) {
    switch (c) {
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_OPERATION_TIMEDOUT:  // a plain HTTP server waiting for a request line
            return true;
        default:
            return false;
    }
}

}  // namespace

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::optional<std::string> HttpResponse::header(std::string_view lname) const {
    for (const auto& [k, v] : headers) {
        if (k == lname) return v;
    }
    return std::nullopt;
}

std::vector<std::string> HttpResponse::header_all(std::string_view lname) const {
    std::vector<std::string> out;
    for (const auto& [k, v] : headers) {
        if (k == lname) out.push_back(v);
    }
    return out;
}

HttpConnection::HttpConnection(std::string user_agent, HttpTimeouts timeouts)
    : user_agent_(std::move(user_agent)), timeouts_(timeouts) {
    global_init();
    curl_ = curl_easy_init();
}

HttpConnection::~HttpConnection() {
    if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpConnection::HttpConnection(HttpConnection&& o) noexcept
    : curl_(std::exchange(o.curl_, nullptr)),
      user_agent_(std::move(o.user_agent_)),
      timeouts_(o.timeouts_) {}

HttpConnection& HttpConnection::operator=(HttpConnection&& o) noexcept {
    if (this != &o) {
        if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
        curl_ = std::exchange(o.curl_, nullptr);
        user_agent_ = std::move(o.user_agent_);
        timeouts_ = o.timeouts_;
    }
    return *this;
}

Result<HttpResponse> HttpConnection::perform(const HttpRequest& req, const TlsConfig& tls,
                                             TransportFailure* failure) {
    auto* c = static_cast<CURL*>(curl_);
    if (c == nullptr)
        return make_error(Errc::Internal, "{} {}: curl_easy_init failed", req.method, req.url);
    // reset() keeps the connection cache, so keep-alive survives between exchanges.
    curl_easy_reset(c);

    HttpResponse resp;
    resp.url = req.url;
    Exchange ex{&req, &resp};
    char errbuf[CURL_ERROR_SIZE] = {0};

    curl_slist* hdrs = nullptr;
    for (const auto& h : req.headers) hdrs = curl_slist_append(hdrs, h.c_str());
    // No "Expect: 100-continue" round trip: registries answer PUT/PATCH directly.
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (req.body && req.method != "POST") {
        bool has_ct = std::any_of(req.headers.begin(), req.headers.end(), [](const std::string& h) {
            return ascii_lower(h.substr(0, 13)) == "content-type:";
        });
        if (!has_ct) hdrs = curl_slist_append(hdrs, "Content-Type: application/octet-stream");
    }

    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeouts_.connect_ms);
    if (req.timeout_ms > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req.timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, timeouts_.stall_ms / 1000));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    // We handle Content-Encoding ourselves: blobs are passed through byte for byte.
    curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);

    // Blob downloads hand the sink bigger pieces than the 16 KiB default.
    if (req.sink) curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L << 10);

    if (!tls.verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!tls.ca_files.empty()) {
        // The cached CA store would be shared with other hosts; build a fresh one here.
        curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &tls);
    }
    if (!tls.client_cert.empty()) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, tls.client_cert.c_str());
        curl_easy_setopt(c, CURLOPT_SSLKEY, tls.client_key.c_str());
    }

    if (req.method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (req.body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body->data());
        if (req.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    } else if (req.method == "GET") {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        if (req.method == "PUT" || req.method == "POST" || req.method == "PATCH") {
            // An empty body still needs Content-Length: 0.
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        }
    }

    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && resp.truncated && !ex.sink_aborted)) {
        if (failure != nullptr) {
            failure->curl_code = rc;
            failure->sink_aborted = ex.sink_aborted;
            failure->tls = is_tls_failure(rc) && req.url.starts_with("https:");
            failure->body_bytes = ex.body_bytes;
        }
        std::string why = errbuf[0] != 0 ? std::string(errbuf) : curl_easy_strerror(rc);
        return Unexpected(
            Error{Errc::Unavailable, 0, fmt::format("{} {}: {}", req.method, req.url, why)});
    }
    if (failure != nullptr) failure->body_bytes = ex.body_bytes;
    return resp;
}

Result<std::string> resolve_url(const std::string& base, const std::string& location) {
    CURLU* u = curl_url();
    if (u == nullptr) return make_error(Errc::Internal, "resolve {}: out of memory", location);
    std::string out;
    CURLUcode rc = curl_url_set(u, CURLUPART_URL, base.c_str(), 0);
    if (rc == CURLUE_OK) rc = curl_url_set(u, CURLUPART_URL, location.c_str(), 0);
    char* full = nullptr;
    if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_URL, &full, 0);
    if (rc == CURLUE_OK) {
        out = full;
        curl_free(full);
    }
    curl_url_cleanup(u);
    if (rc != CURLUE_OK) {
        return make_error(Errc::InvalidArgument, "resolve location {:?} against {}: {}", location,
                          base, curl_url_strerror(rc));
    }
    return out;
}

namespace {
std::string url_part(const std::string& url, CURLUPart part, unsigned flags = 0) {
    CURLU* u = curl_url();
    std::string out;
    if (u == nullptr) return out;
    char* p = nullptr;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, part, &p, flags) == CURLUE_OK) {
        out = p;
        curl_free(p);
    }
    curl_url_cleanup(u);
    return out;
}
}  // namespace

std::string url_origin(const std::string& url) {
    std::string scheme = url_part(url, CURLUPART_SCHEME);
    std::string host = ascii_lower(url_part(url, CURLUPART_HOST));
    std::string port = url_part(url, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (scheme.empty() || host.empty()) return {};
    return scheme + "://" + host + ":" + port;
}

std::string url_host_port(const std::string& url) {
    std::string host = url_part(url, CURLUPART_HOST);
    std::string port = url_part(url, CURLUPART_PORT);
    return port.empty() ? host : host + ":" + port;
}

std::string url_escape(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char ch : s) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out.push_back(static_cast<char>(ch));
        } else {
            out.push_back('%');
            out.push_back(kHex[ch >> 4]);
            out.push_back(kHex[ch & 15]);
        }
    }
    return out;
}

}  // namespace berth::registry::client
