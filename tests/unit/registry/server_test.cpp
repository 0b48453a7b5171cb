// The registry server in process on 127.0.0.1:0, driven over HTTP by a small Beast client: the
// distribution spec's conformance flows (pull, push monolithic and chunked, mount, discovery,
// deletion, referrers), sha512, errors, ranges, htpasswd, upload expiry, and one copy per blob.
#include <crypt.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "berth/common/digest.hpp"
#include "berth/common/fs.hpp"
#include "berth/registry/server.hpp"
#include "berth/store/content_store.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using berth::Digest;

struct Resp {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // lowercase names
    std::string body;
    std::string h(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
    std::string code() const {
        try {
            return json::parse(body)["errors"][0]["code"];
        } catch (...) {
            return "";
        }
    }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One keep-alive connection to the server.
class Client {
public:
    explicit Client(const std::string& addr) {
        size_t colon = addr.rfind(':');
        host_ = addr.substr(0, colon);
        port_ = addr.substr(colon + 1);
    }

    Resp req(const std::string& method, const std::string& target, const std::string& body = "",
             const Headers& headers = {}, bool chunked = false) {
        if (!sock_) connect();
        http::request<http::string_body> r(http::string_to_verb(method), target, 11);
        r.set(http::field::host, host_ + ":" + port_);
        for (const auto& [k, v] : headers) r.set(k, v);
        r.body() = body;
        if (chunked) {
            r.chunked(true);
        } else if (!body.empty() || method == "PUT" || method == "POST" || method == "PATCH") {
            r.prepare_payload();
        }
        http::write(*sock_, r);
        http::response_parser<http::string_body> p;
        p.body_limit(1u << 30);
        if (method == "HEAD") p.skip(true);
        http::read(*sock_, buf_, p);
        auto& m = p.get();
        Resp out;
        out.status = m.result_int();
        for (const auto& f : m) {
            std::string k(f.name_string());
            for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            out.headers[k] = std::string(f.value());
        }
        out.body = m.body();
        if (!m.keep_alive()) sock_.reset();
        return out;
    }

private:
    void connect() {
        sock_ = std::make_unique<tcp::socket>(ioc_);
        tcp::resolver res(ioc_);
        net::connect(*sock_, res.resolve(host_, port_));
        buf_.clear();
    }
    net::io_context ioc_;
    std::unique_ptr<tcp::socket> sock_;
    beast::flat_buffer buf_;
    std::string host_, port_;
};

std::string sha(const std::string& data) {
    return berth::digest_of(data).string();
}

std::string sha512(const std::string& data) {
    berth::Hasher h(Digest::kSha512);
    h.update(data);
    return h.finish().string();
}

class RegistryServerTest : public ::testing::Test {
protected:
    void SetUp() override { start({}); }

    void start(berth::registry::ServerOptions opts) {
        server_.reset();
        if (root_.empty()) {
            char tmpl[] = "/tmp/berth-test-regserver-XXXXXX";
            ASSERT_NE(mkdtemp(tmpl), nullptr);
            root_ = tmpl;
        }
        opts.listen = {"127.0.0.1:0"};
        opts.data_root = root_ + "/root";
        auto s = berth::registry::Server::start(std::move(opts));
        ASSERT_TRUE(s) << s.error().what();
        server_ = std::move(*s);
        client_ = std::make_unique<Client>(server_->addresses().at(0));
    }

    void TearDown() override {
        client_.reset();
        if (server_) server_->stop();
        server_.reset();
        if (!root_.empty()) (void)berth::remove_all(root_);
    }

    Resp req(const std::string& method, const std::string& target, const std::string& body = "",
             const Headers& headers = {}, bool chunked = false) {
        return client_->req(method, target, body, headers, chunked);
    }

    // Monolithic push of a blob; returns its digest.
    std::string push_blob(const std::string& repo, const std::string& data) {
        std::string d = sha(data);
        auto r = req("POST", "/v2/" + repo + "/blobs/uploads/?digest=" + d, data,
                     {{"Content-Type", "application/octet-stream"}});
        EXPECT_EQ(r.status, 201u) << r.body;
        return d;
    }

    // An image manifest over a config and one layer pushed to `repo`.
    std::string image_manifest(const std::string& repo, const std::string& seed) {
        std::string config = R"({"architecture":"amd64","os":"linux","seed":")" + seed + "\"}";
        std::string layer = "layer-bytes-" + seed;
        std::string cd = push_blob(repo, config);
        std::string ld = push_blob(repo, layer);
        json m{{"schemaVersion", 2},
               {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
               {"config",
                {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                 {"digest", cd},
                 {"size", config.size()}}},
               {"layers", json::array({{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                        {"digest", ld},
                                        {"size", layer.size()}}})}};
        return m.dump();
    }

    Resp put_manifest(const std::string& repo, const std::string& ref, const std::string& body,
                      const std::string& type = "application/vnd.oci.image.manifest.v1+json") {
        return req("PUT", "/v2/" + repo + "/manifests/" + ref, body, {{"Content-Type", type}});
    }

    size_t count_files(const std::string& dir) {
        auto l = berth::list_dir(dir);
        return l ? l->size() : 0;
    }

    std::string root_;
    std::unique_ptr<berth::registry::Server> server_;
    std::unique_ptr<Client> client_;
};

TEST_F(RegistryServerTest, BaseEndpoint) {
    auto r = req("GET", "/v2/");
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, "{}");
    EXPECT_EQ(r.h("docker-distribution-api-version"), "registry/2.0");
    EXPECT_EQ(r.h("content-type"), "application/json");
    // Keep-alive: the same connection serves the next request.
    EXPECT_EQ(req("GET", "/v2").status, 200u);
}

TEST_F(RegistryServerTest, MonolithicPushAndPullWithRanges) {
    std::string data = "hello, registry";
    std::string d = push_blob("a/b/c", data);

    auto head = req("HEAD", "/v2/a/b/c/blobs/" + d);
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(head.h("content-length"), std::to_string(data.size()));
    EXPECT_EQ(head.h("docker-content-digest"), d);

    auto get = req("GET", "/v2/a/b/c/blobs/" + d);
    EXPECT_EQ(get.status, 200u);
    EXPECT_EQ(get.body, data);
    EXPECT_EQ(get.h("content-type"), "application/octet-stream");

    auto part = req("GET", "/v2/a/b/c/blobs/" + d, "", {{"Range", "bytes=7-14"}});
    EXPECT_EQ(part.status, 206u);
    EXPECT_EQ(part.body, "registry");
    EXPECT_EQ(part.h("content-range"), "bytes 7-14/15");
    auto open_end = req("GET", "/v2/a/b/c/blobs/" + d, "", {{"Range", "bytes=5-"}});
    EXPECT_EQ(open_end.status, 206u);
    EXPECT_EQ(open_end.body, ", registry");
    auto suffix = req("GET", "/v2/a/b/c/blobs/" + d, "", {{"Range", "bytes=-3"}});
    EXPECT_EQ(suffix.body, "try");
    auto bad = req("GET", "/v2/a/b/c/blobs/" + d, "", {{"Range", "bytes=100-200"}});
    EXPECT_EQ(bad.status, 416u);
    EXPECT_EQ(bad.h("content-range"), "bytes */15");

    // Never pushed to that repository: unknown there, as in distribution.
    auto other = req("GET", "/v2/other/blobs/" + d);
    EXPECT_EQ(other.status, 404u);
    EXPECT_EQ(other.code(), "BLOB_UNKNOWN");
    EXPECT_EQ(other.h("content-type"), "application/json");
    EXPECT_EQ(req("HEAD", "/v2/other/blobs/" + d).status, 404u);

    // A wrong digest in a monolithic push.
    auto wrong = req("POST", "/v2/a/blobs/uploads/?digest=" + sha("other"), data);
    EXPECT_EQ(wrong.status, 400u);
    EXPECT_EQ(wrong.code(), "DIGEST_INVALID");
}

TEST_F(RegistryServerTest, ChunkedPushInOrderAndOutOfOrder) {
    auto post = req("POST", "/v2/repo/blobs/uploads/");
    ASSERT_EQ(post.status, 202u);
    std::string loc = post.h("location");
    EXPECT_EQ(post.h("range"), "0-0");
    EXPECT_FALSE(post.h("docker-upload-uuid").empty());
    ASSERT_EQ(loc.rfind("/v2/repo/blobs/uploads/", 0), 0u) << loc;

    auto p1 = req("PATCH", loc, "01234",
                  {{"Content-Range", "0-4"}, {"Content-Type", "application/octet-stream"}});
    EXPECT_EQ(p1.status, 202u);
    EXPECT_EQ(p1.h("range"), "0-4");
    loc = p1.h("location");

    // Out of order: refused with 416, the session stays.
    auto ooo = req("PATCH", loc, "xyz", {{"Content-Range", "10-12"}});
    EXPECT_EQ(ooo.status, 416u);
    auto st = req("GET", loc);
    EXPECT_EQ(st.status, 204u);
    EXPECT_EQ(st.h("range"), "0-4");

    // A chunked-encoded PATCH without Content-Range (docker and skopeo stream like this).
    auto p2 = req("PATCH", loc, "56789", {}, true);
    EXPECT_EQ(p2.status, 202u);
    EXPECT_EQ(p2.h("range"), "0-9");

    std::string all = "0123456789abc";
    auto put = req("PUT", loc + "?digest=" + sha(all), "abc", {{"Content-Range", "10-12"}});
    EXPECT_EQ(put.status, 201u) << put.body;
    EXPECT_EQ(put.h("location"), "/v2/repo/blobs/" + sha(all));
    EXPECT_EQ(put.h("docker-content-digest"), sha(all));
    EXPECT_EQ(req("GET", "/v2/repo/blobs/" + sha(all)).body, all);
    EXPECT_EQ(req("GET", loc).code(), "BLOB_UPLOAD_UNKNOWN");

    // Digest mismatch: 400 DIGEST_INVALID and the session is gone.
    auto s2 = req("POST", "/v2/repo/blobs/uploads/");
    std::string loc2 = s2.h("location");
    EXPECT_EQ(req("PATCH", loc2, "data", {{"Content-Range", "0-3"}}).status, 202u);
    auto bad = req("PUT", loc2 + "?digest=" + sha("other"));
    EXPECT_EQ(bad.status, 400u);
    EXPECT_EQ(bad.code(), "DIGEST_INVALID");
    auto gone = req("GET", loc2);
    EXPECT_EQ(gone.status, 404u);
    EXPECT_EQ(gone.code(), "BLOB_UPLOAD_UNKNOWN");

    // Cancelled upload.
    auto s3 = req("POST", "/v2/repo/blobs/uploads/");
    EXPECT_EQ(req("DELETE", s3.h("location")).status, 204u);
    EXPECT_EQ(req("GET", s3.h("location")).status, 404u);
    // A session belongs to its repository.
    auto s4 = req("POST", "/v2/repo/blobs/uploads/");
    std::string uuid = s4.h("docker-upload-uuid");
    EXPECT_EQ(req("GET", "/v2/elsewhere/blobs/uploads/" + uuid).status, 404u);
}

TEST_F(RegistryServerTest, CrossRepositoryMount) {
    std::string d = push_blob("src/repo", "shared layer");
    auto m = req("POST", "/v2/dst/blobs/uploads/?mount=" + d + "&from=src/repo");
    EXPECT_EQ(m.status, 201u);
    EXPECT_EQ(m.h("location"), "/v2/dst/blobs/" + d);
    EXPECT_EQ(m.h("docker-content-digest"), d);
    EXPECT_EQ(req("GET", "/v2/dst/blobs/" + d).body, "shared layer");
    // The source lacks it: an ordinary session instead.
    auto s = req("POST", "/v2/dst2/blobs/uploads/?mount=" + sha("nothing") + "&from=src/repo");
    EXPECT_EQ(s.status, 202u);
    EXPECT_FALSE(s.h("docker-upload-uuid").empty());
}

TEST_F(RegistryServerTest, BlobStoredOnceForTwoRepositories) {
    std::string data(100000, 'x');
    std::string d = push_blob("one", data);
    EXPECT_EQ(push_blob("two", data), d);
    EXPECT_EQ(req("GET", "/v2/one/blobs/" + d).body, data);
    EXPECT_EQ(req("GET", "/v2/two/blobs/" + d).body, data);
    EXPECT_EQ(count_files(root_ + "/root/content/sha256"), 1u);
    EXPECT_EQ(count_files(root_ + "/root/ingest"), 0u);
}

TEST_F(RegistryServerTest, ManifestsPushPullAndErrors) {
    std::string m = image_manifest("img", "1");
    auto put = put_manifest("img", "v1", m);
    ASSERT_EQ(put.status, 201u) << put.body;
    EXPECT_EQ(put.h("docker-content-digest"), sha(m));
    EXPECT_EQ(put.h("location"), "/v2/img/manifests/" + sha(m));

    auto by_tag = req("GET", "/v2/img/manifests/v1");
    EXPECT_EQ(by_tag.status, 200u);
    EXPECT_EQ(by_tag.body, m);
    EXPECT_EQ(by_tag.h("content-type"), "application/vnd.oci.image.manifest.v1+json");
    EXPECT_EQ(by_tag.h("docker-content-digest"), sha(m));
    auto by_digest = req("GET", "/v2/img/manifests/" + sha(m));
    EXPECT_EQ(by_digest.body, m);
    auto head = req("HEAD", "/v2/img/manifests/v1");
    EXPECT_EQ(head.status, 200u);
    EXPECT_EQ(head.h("content-length"), std::to_string(m.size()));

    // Put by digest; a wrong one is refused.
    EXPECT_EQ(put_manifest("img", sha(m), m).status, 201u);
    EXPECT_EQ(put_manifest("img", sha("x"), m).code(), "DIGEST_INVALID");

    // An index over the manifest.
    json idx{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.index.v1+json"},
        {"manifests", json::array({{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                    {"digest", sha(m)},
                                    {"size", m.size()}}})}};
    auto pi = put_manifest("img", "multi", idx.dump(), "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(pi.status, 201u) << pi.body;
    EXPECT_EQ(req("GET", "/v2/img/manifests/multi").h("content-type"),
              "application/vnd.oci.image.index.v1+json");

    // Errors.
    std::string other = image_manifest("elsewhere", "2");
    auto missing = put_manifest("img", "v2", other);
    EXPECT_EQ(missing.status, 400u);
    EXPECT_EQ(missing.code(), "MANIFEST_BLOB_UNKNOWN");
    json bad_idx = idx;
    bad_idx["manifests"][0]["digest"] = sha("nope");
    EXPECT_EQ(
        put_manifest("img", "x", bad_idx.dump(), "application/vnd.oci.image.index.v1+json").code(),
        "MANIFEST_BLOB_UNKNOWN");
    EXPECT_EQ(put_manifest("img", "v3", "{not json").code(), "MANIFEST_INVALID");
    EXPECT_EQ(put_manifest("img", "v3", m, "application/vnd.oci.image.index.v1+json").code(),
              "MANIFEST_INVALID");
    EXPECT_EQ(put_manifest("img", ".bad", m).code(), "TAG_INVALID");
    auto unknown = req("GET", "/v2/img/manifests/nosuchtag");
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_EQ(unknown.code(), "MANIFEST_UNKNOWN");
    EXPECT_EQ(req("GET", "/v2/nosuchrepo/manifests/v1").status, 404u);
    std::string big(5u << 20, ' ');
    EXPECT_EQ(put_manifest("img", "big", big).status, 413u);
}

TEST_F(RegistryServerTest, NamesAndDigestsValidated) {
    auto r = req("GET", "/v2/UPPER/tags/list");
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(r.code(), "NAME_INVALID");
    EXPECT_EQ(req("GET", "/v2/a//b/tags/list").code(), "NAME_INVALID");
    EXPECT_EQ(req("GET", "/v2/a__-b/tags/list").code(), "NAME_INVALID");
    EXPECT_EQ(req("GET", "/v2/a__b/x-y.z/tags/list").code(), "NAME_UNKNOWN");
    auto d = req("GET", "/v2/ok/blobs/sha256:1234");
    EXPECT_EQ(d.status, 400u);
    EXPECT_EQ(d.code(), "DIGEST_INVALID");
    EXPECT_EQ(req("POST", "/v2/ok/blobs/uploads/?digest=md5:abc").code(), "DIGEST_INVALID");
    EXPECT_EQ(req("DELETE", "/v2/").status, 405u);
}

TEST_F(RegistryServerTest, TagsListAndCatalogPaginate) {
    std::string m = image_manifest("list/me", "t");
    for (const char* t : {"c", "a", "b", "d"})
        ASSERT_EQ(put_manifest("list/me", t, m).status, 201u);
    auto all = req("GET", "/v2/list/me/tags/list");
    EXPECT_EQ(all.status, 200u);
    EXPECT_EQ(json::parse(all.body), json({{"name", "list/me"}, {"tags", {"a", "b", "c", "d"}}}));
    EXPECT_EQ(all.h("link"), "");
    auto p1 = req("GET", "/v2/list/me/tags/list?n=2");
    EXPECT_EQ(json::parse(p1.body)["tags"], json({"a", "b"}));
    EXPECT_EQ(p1.h("link"), "</v2/list/me/tags/list?n=2&last=b>; rel=\"next\"");
    auto p2 = req("GET", "/v2/list/me/tags/list?n=2&last=b");
    EXPECT_EQ(json::parse(p2.body)["tags"], json({"c", "d"}));
    auto p3 = req("GET", "/v2/list/me/tags/list?last=c");
    EXPECT_EQ(json::parse(p3.body)["tags"], json({"d"}));
    auto unknown = req("GET", "/v2/no/such/tags/list");
    EXPECT_EQ(unknown.status, 404u);
    EXPECT_EQ(unknown.code(), "NAME_UNKNOWN");

    push_blob("another", "x");
    auto cat = req("GET", "/v2/_catalog");
    EXPECT_EQ(json::parse(cat.body)["repositories"], json({"another", "list/me"}));
    auto c1 = req("GET", "/v2/_catalog?n=1");
    EXPECT_EQ(json::parse(c1.body)["repositories"], json({"another"}));
    EXPECT_EQ(c1.h("link"), "</v2/_catalog?n=1&last=another>; rel=\"next\"");
}

TEST_F(RegistryServerTest, Deletion) {
    std::string m = image_manifest("del", "d");
    json mj = json::parse(m);
    std::string layer = mj["layers"][0]["digest"];
    ASSERT_EQ(put_manifest("del", "t1", m).status, 201u);
    ASSERT_EQ(put_manifest("del", "t2", m).status, 201u);

    // Untag.
    EXPECT_EQ(req("DELETE", "/v2/del/manifests/t1").status, 202u);
    EXPECT_EQ(req("GET", "/v2/del/manifests/t1").status, 404u);
    EXPECT_EQ(req("GET", "/v2/del/manifests/t2").status, 200u);
    EXPECT_EQ(req("DELETE", "/v2/del/manifests/t1").code(), "MANIFEST_UNKNOWN");
    // Delete by digest: the manifest and its tags.
    EXPECT_EQ(req("DELETE", "/v2/del/manifests/" + sha(m)).status, 202u);
    EXPECT_EQ(req("GET", "/v2/del/manifests/" + sha(m)).status, 404u);
    EXPECT_EQ(req("GET", "/v2/del/manifests/t2").status, 404u);
    EXPECT_EQ(json::parse(req("GET", "/v2/del/tags/list").body)["tags"], json::array());

    // Blob: unlinked, and gone from the store since nothing else links it.
    auto ld = Digest::parse(layer);
    ASSERT_TRUE(ld);
    std::string path = root_ + "/root/content/sha256/" + ld->hex();
    EXPECT_TRUE(berth::path_exists(path));
    EXPECT_EQ(req("DELETE", "/v2/del/blobs/" + layer).status, 202u);
    EXPECT_EQ(req("GET", "/v2/del/blobs/" + layer).code(), "BLOB_UNKNOWN");
    EXPECT_FALSE(berth::path_exists(path));
    EXPECT_EQ(req("DELETE", "/v2/del/blobs/" + layer).code(), "BLOB_UNKNOWN");

    // Linked elsewhere: kept.
    std::string shared = push_blob("k1", "keep me");
    push_blob("k2", "keep me");
    EXPECT_EQ(req("DELETE", "/v2/k1/blobs/" + shared).status, 202u);
    EXPECT_EQ(req("GET", "/v2/k2/blobs/" + shared).body, "keep me");

    // A blob the daemon already had (not written by the registry) is never removed.
    auto store = berth::store::ContentStore::open_root(root_ + "/root");
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put("daemon's layer"));
    std::string theirs = push_blob("mine", "daemon's layer");
    EXPECT_EQ(count_files(root_ + "/root/content/sha256"), 3u);
    EXPECT_EQ(req("DELETE", "/v2/mine/blobs/" + theirs).status, 202u);
    EXPECT_TRUE(store->exists(*Digest::parse(theirs)));
}

TEST_F(RegistryServerTest, ReferrersAndSubject) {
    std::string m = image_manifest("ref", "s");
    ASSERT_EQ(put_manifest("ref", "v1", m).status, 201u);
    std::string subject = sha(m);

    auto empty = req("GET", "/v2/ref/referrers/" + subject);
    EXPECT_EQ(empty.status, 200u);
    EXPECT_EQ(empty.h("content-type"), "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(json::parse(empty.body)["manifests"], json::array());

    std::string empty_cfg = "{}";
    std::string cd = push_blob("ref", empty_cfg);
    auto artifact = [&](const std::string& type, const std::string& note) {
        return json{
            {"schemaVersion", 2},
            {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
            {"artifactType", type},
            {"config",
             {{"mediaType", "application/vnd.oci.empty.v1+json"}, {"digest", cd}, {"size", 2}}},
            {"layers", json::array()},
            {"subject",
             {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"digest", subject},
              {"size", m.size()}}},
            {"annotations", {{"note", note}}}}
            .dump();
    };
    std::string sig = artifact("application/vnd.example.sig", "a");
    std::string sbom = artifact("application/vnd.example.sbom", "b");
    auto p1 = put_manifest("ref", sha(sig), sig);
    EXPECT_EQ(p1.status, 201u) << p1.body;
    EXPECT_EQ(p1.h("oci-subject"), subject);
    EXPECT_EQ(put_manifest("ref", sha(sbom), sbom).status, 201u);

    auto all = req("GET", "/v2/ref/referrers/" + subject);
    json idx = json::parse(all.body);
    EXPECT_EQ(idx["mediaType"], "application/vnd.oci.image.index.v1+json");
    ASSERT_EQ(idx["manifests"].size(), 2u);
    EXPECT_EQ(all.h("oci-filters-applied"), "");
    auto filtered =
        req("GET", "/v2/ref/referrers/" + subject + "?artifactType=application/vnd.example.sbom");
    EXPECT_EQ(filtered.h("oci-filters-applied"), "artifactType");
    json f = json::parse(filtered.body);
    ASSERT_EQ(f["manifests"].size(), 1u);
    EXPECT_EQ(f["manifests"][0]["digest"], sha(sbom));
    EXPECT_EQ(f["manifests"][0]["artifactType"], "application/vnd.example.sbom");
    EXPECT_EQ(f["manifests"][0]["annotations"]["note"], "b");
    EXPECT_EQ(f["manifests"][0]["size"], sbom.size());
    EXPECT_EQ(req("GET", "/v2/ref/referrers/sha256:zz").code(), "DIGEST_INVALID");
}

TEST_F(RegistryServerTest, Sha512Blobs) {
    std::string data = "sha512 content";
    std::string d = sha512(data);
    auto mono = req("POST", "/v2/s5/blobs/uploads/?digest=" + d, data);
    EXPECT_EQ(mono.status, 201u) << mono.body;
    EXPECT_EQ(mono.h("docker-content-digest"), d);
    auto get = req("GET", "/v2/s5/blobs/" + d);
    EXPECT_EQ(get.body, data);
    EXPECT_EQ(get.h("docker-content-digest"), d);
    EXPECT_TRUE(berth::path_exists(root_ + "/root/content/sha512/" + d.substr(7)));

    // Chunked: the digest's algorithm is only known at the final PUT.
    std::string data2 = "chunked sha512 content";
    auto s = req("POST", "/v2/s5/blobs/uploads/");
    auto p = req("PATCH", s.h("location"), data2.substr(0, 7), {{"Content-Range", "0-6"}});
    EXPECT_EQ(p.status, 202u);
    auto put = req("PUT", p.h("location") + "?digest=" + sha512(data2), data2.substr(7));
    EXPECT_EQ(put.status, 201u) << put.body;
    EXPECT_EQ(req("GET", "/v2/s5/blobs/" + sha512(data2)).body, data2);
    EXPECT_EQ(count_files(root_ + "/root/ingest"), 0u);
}

TEST_F(RegistryServerTest, UploadsExpire) {
    berth::registry::ServerOptions opts;
    opts.upload_expiry = std::chrono::seconds(0);
    start(opts);
    auto s = req("POST", "/v2/exp/blobs/uploads/");
    ASSERT_EQ(s.status, 202u);
    EXPECT_EQ(req("PATCH", s.h("location"), "partial").status, 202u);
    EXPECT_EQ(count_files(root_ + "/root/ingest"), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(server_->reap_uploads(), 1u);
    EXPECT_EQ(req("GET", s.h("location")).code(), "BLOB_UPLOAD_UNKNOWN");
    EXPECT_EQ(count_files(root_ + "/root/ingest"), 0u);
}

TEST_F(RegistryServerTest, HtpasswdBasicAuth) {
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    ASSERT_NE(crypt_gensalt_rn("$2y$", 5, nullptr, 0, setting, sizeof setting), nullptr);
    struct crypt_data cd {};
    const char* hash = crypt_rn("s3cret", setting, &cd, sizeof cd);
    ASSERT_NE(hash, nullptr);
    std::string file = root_ + "/htpasswd";
    ASSERT_TRUE(berth::mkdir_all(root_));
    ASSERT_TRUE(berth::atomic_write_file(file, std::string("# users\nalice:") + hash + "\n"));
    berth::registry::ServerOptions opts;
    opts.htpasswd_file = file;
    start(opts);

    auto none = req("GET", "/v2/");
    EXPECT_EQ(none.status, 401u);
    EXPECT_EQ(none.h("www-authenticate"), "Basic realm=\"berth-registry\"");
    EXPECT_EQ(none.code(), "UNAUTHORIZED");
    // alice:wrong, bob:s3cret, alice:s3cret
    EXPECT_EQ(req("GET", "/v2/", "", {{"Authorization", "Basic YWxpY2U6d3Jvbmc="}}).status, 401u);
    EXPECT_EQ(req("GET", "/v2/", "", {{"Authorization", "Basic Ym9iOnMzY3JldA=="}}).status, 401u);
    EXPECT_EQ(req("GET", "/v2/", "", {{"Authorization", "Basic YWxpY2U6czNjcmV0"}}).status, 200u);
    EXPECT_EQ(req("GET", "/v2/x/tags/list").status, 401u);
}

TEST_F(RegistryServerTest, LargeBlobStreamsBothWays) {
    std::string data(8u << 20, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) & 0xff);
    auto s = req("POST", "/v2/big/blobs/uploads/");
    auto p = req("PATCH", s.h("location"), data, {}, true);
    EXPECT_EQ(p.status, 202u);
    EXPECT_EQ(p.h("range"), "0-" + std::to_string(data.size() - 1));
    EXPECT_EQ(req("PUT", p.h("location") + "?digest=" + sha(data)).status, 201u);
    auto g = req("GET", "/v2/big/blobs/" + sha(data));
    EXPECT_EQ(g.body.size(), data.size());
    EXPECT_TRUE(g.body == data);
}

TEST_F(RegistryServerTest, ConcurrentPushesToOneRepository) {
    std::vector<std::thread> threads;
    std::vector<std::string> digests(6);
    std::string addr = server_->addresses().at(0);
    for (int i = 0; i < 6; ++i) {
        threads.emplace_back([&, i] {
            Client c(addr);
            std::string data = "blob " + std::to_string(i) + std::string(50000, 'a' + i);
            auto s = c.req("POST", "/v2/conc/blobs/uploads/");
            auto p = c.req("PATCH", s.h("location"), data, {}, true);
            auto r = c.req("PUT", p.h("location") + "?digest=" + sha(data));
            if (r.status == 201) digests[i] = sha(data);
            // And one blob every thread pushes.
            std::string same = "same for all";
            c.req("POST", "/v2/conc/blobs/uploads/?digest=" + sha(same), same);
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& d : digests) {
        ASSERT_FALSE(d.empty());
        EXPECT_EQ(req("HEAD", "/v2/conc/blobs/" + d).status, 200u);
    }
    EXPECT_EQ(req("HEAD", "/v2/conc/blobs/" + sha("same for all")).status, 200u);
    EXPECT_EQ(count_files(root_ + "/root/content/sha256"), 7u);
}

TEST_F(RegistryServerTest, StopEndsIdleConnectionsAndIdleTimeoutCloses) {
    berth::registry::ServerOptions opts;
    opts.idle_timeout = std::chrono::seconds(1);
    opts.reap_interval = std::chrono::milliseconds(200);
    start(opts);
    // An idle keep-alive connection is closed by the server after the idle timeout.
    net::io_context ioc;
    tcp::socket sock(ioc);
    std::string addr = server_->addresses().at(0);
    tcp::resolver res(ioc);
    net::connect(sock,
                 res.resolve(addr.substr(0, addr.rfind(':')), addr.substr(addr.rfind(':') + 1)));
    auto t0 = std::chrono::steady_clock::now();
    char c;
    beast::error_code ec;
    sock.read_some(net::buffer(&c, 1), ec);
    EXPECT_EQ(ec, net::error::eof);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));

    // stop() does not wait for idle clients.
    EXPECT_EQ(req("GET", "/v2/").status, 200u);
    auto t1 = std::chrono::steady_clock::now();
    server_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::seconds(2));
}

}  // namespace
