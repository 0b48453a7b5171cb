#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/oci/image_spec.hpp"

namespace berth::oci {
namespace {

using ::testing::HasSubstr;

/// Fixtures write digests as %X% (X one hex character): "sha256:" followed by 64 X's.
std::string fx(std::string s) {
    for (size_t pos = s.find('%'); pos != std::string::npos; pos = s.find('%', pos)) {
        char c = s[pos + 1];
        s.replace(pos, 3, "sha256:" + std::string(64, c));
    }
    return s;
}
std::string dg(char c) {
    return "sha256:" + std::string(64, c);
}

// Modelled on docker.io/library/busybox:latest (an OCI index with attestation manifests).
const std::string kBusyboxIndex = fx(R"({
  "manifests": [
    {"annotations": {"com.docker.official-images.bashbrew.arch": "amd64",
                     "org.opencontainers.image.version": "1.37.0-glibc"},
     "digest": "%1%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "amd64", "os": "linux"}, "size": 610},
    {"digest": "%2%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v5"}, "size": 610},
    {"digest": "%3%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v6"}, "size": 610},
    {"digest": "%4%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}, "size": 610},
    {"digest": "%5%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}, "size": 610},
    {"digest": "%6%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "386", "os": "linux"}, "size": 610},
    {"annotations": {"vnd.docker.reference.digest": "%1%",
                     "vnd.docker.reference.type": "attestation-manifest"},
     "digest": "%7%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "unknown", "os": "unknown"}, "size": 839},
    {"digest": "%8%", "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "platform": {"architecture": "ppc64le", "os": "linux"}, "size": 610}
  ],
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "schemaVersion": 2
})");

// busybox's amd64 manifest as Docker schema 2 (as older pushes of the image have it).
const std::string kBusyboxManifest = fx(R"({
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1457,
      "digest": "%a%"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2152262,
         "digest": "%b%"
      }
   ]
})");

// busybox's config as `docker build` (pre-BuildKit) wrote it: legacy top-level members too.
const std::string kBusyboxConfig = fx(R"({"architecture":"amd64","config":{"Hostname":"",
"Domainname":"","User":"","AttachStdin":false,
"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
"Cmd":["sh"],"Image":"%c%","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,
"Labels":null},"container":"2d2f7bd8c0a1","container_config":{"Hostname":"2d2f7bd8c0a1",
"Cmd":["/bin/sh","-c","#(nop) ","CMD [\"sh\"]"]},"created":"2023-07-18T23:19:33.655005962Z",
"docker_version":"20.10.23","history":[{"created":"2023-07-18T23:19:33.538571854Z",
"created_by":"/bin/sh -c #(nop) ADD file:7e9002edaafd4e4579b65c8f0aaabde1 in / "},
{"created":"2023-07-18T23:19:33.655005962Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]",
"empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["%d%"]}})");

// An OCI layout's index.json as `docker save` (25+) and skopeo write it.
const std::string kLayoutIndex =
    fx(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"%e%","size":9218,
"annotations":{"io.containerd.image.name":"docker.io/library/busybox:latest",
"org.opencontainers.image.ref.name":"latest"}}]})");

// ---- real-world documents ------------------------------------------------------------------

TEST(ImageSpec, BusyboxIndex) {
    auto idx = parse_index(kBusyboxIndex);
    ASSERT_TRUE(idx) << idx.error().msg;
    EXPECT_EQ(idx->schema_version, 2);
    EXPECT_EQ(idx->media_type, media_type::kOciIndex);
    ASSERT_EQ(idx->manifests.size(), 8u);
    const Descriptor& d0 = idx->manifests[0];
    EXPECT_EQ(d0.digest.string(), dg('1'));
    EXPECT_EQ(d0.size, 610);
    ASSERT_TRUE(d0.platform);
    EXPECT_EQ(d0.platform->architecture, "amd64");
    EXPECT_EQ(d0.platform->os, "linux");
    EXPECT_EQ(d0.annotations.at("com.docker.official-images.bashbrew.arch"), "amd64");
    EXPECT_EQ(idx->manifests[3].platform->variant, "v7");

    auto again = parse_index(to_json(*idx));
    ASSERT_TRUE(again) << again.error().msg;
    EXPECT_EQ(*again, *idx);
}

TEST(ImageSpec, BusyboxManifest) {
    auto m = parse_manifest(kBusyboxManifest);
    ASSERT_TRUE(m) << m.error().msg;
    EXPECT_EQ(m->media_type, media_type::kDockerManifest);
    EXPECT_EQ(m->config.media_type, media_type::kDockerConfig);
    EXPECT_EQ(m->config.size, 1457);
    EXPECT_EQ(m->config.digest.string(), dg('a'));
    ASSERT_EQ(m->layers.size(), 1u);
    EXPECT_EQ(m->layers[0].media_type, media_type::kDockerLayerGzip);
    EXPECT_TRUE(is_layer_media_type(m->layers[0].media_type));
    EXPECT_EQ(m->layers[0].size, 2152262);
    EXPECT_FALSE(m->subject);

    // The serialised form is compact, in the Go struct order (mediaType, digest, size).
    EXPECT_EQ(to_json(*m),
              fx(R"({"schemaVersion":2,)"
                 R"("mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                 R"("config":{"mediaType":"application/vnd.docker.container.image.v1+json",)"
                 R"("digest":"%a%","size":1457},"layers":[{"mediaType":)"
                 R"("application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"%b%",)"
                 R"("size":2152262}]})"));
    auto again = parse_manifest(to_json(*m, true));
    ASSERT_TRUE(again) << again.error().msg;
    EXPECT_EQ(*again, *m);
}

TEST(ImageSpec, BusyboxConfigKeepsLegacyMembers) {
    auto c = parse_image_config(kBusyboxConfig);
    ASSERT_TRUE(c) << c.error().msg;
    EXPECT_EQ(c->architecture, "amd64");
    EXPECT_EQ(c->os, "linux");
    EXPECT_EQ(c->created, "2023-07-18T23:19:33.655005962Z");
    EXPECT_EQ(c->config.cmd, std::vector<std::string>{"sh"});
    ASSERT_EQ(c->config.env.size(), 1u);
    EXPECT_TRUE(c->config.volumes.empty());
    EXPECT_TRUE(c->config.entrypoint.empty());
    ASSERT_EQ(c->rootfs.diff_ids.size(), 1u);
    EXPECT_EQ(c->rootfs.diff_ids[0].string(), dg('d'));
    ASSERT_EQ(c->history.size(), 2u);
    EXPECT_FALSE(c->history[0].empty_layer);
    EXPECT_TRUE(c->history[1].empty_layer);
    EXPECT_EQ(c->extra.at("container"), "\"2d2f7bd8c0a1\"");
    EXPECT_EQ(c->extra.at("docker_version"), "\"20.10.23\"");
    EXPECT_THAT(c->extra.at("container_config"), HasSubstr("#(nop) "));
    EXPECT_EQ(c->extra.size(), 3u);
    EXPECT_EQ(c->platform(), (Platform{"amd64", "linux", "", {}, ""}));

    // Round trip keeps the value (including the legacy members), not the bytes: a config's
    // digest is of the original bytes, which is why the store keeps them (Parsed<T>).
    std::string out = to_json(*c);
    EXPECT_NE(out, kBusyboxConfig);
    auto again = parse_image_config(out);
    ASSERT_TRUE(again) << again.error().msg;
    EXPECT_EQ(*again, *c);
    Parsed<ImageConfig> p{*c, kBusyboxConfig, digest_of(kBusyboxConfig)};
    EXPECT_NE(p.digest, digest_of(out));
}

TEST(ImageSpec, OciLayoutIndex) {
    auto idx = parse_index(kLayoutIndex, "index.json");
    ASSERT_TRUE(idx) << idx.error().msg;
    ASSERT_EQ(idx->manifests.size(), 1u);
    EXPECT_TRUE(is_index_media_type(idx->manifests[0].media_type));
    EXPECT_FALSE(idx->manifests[0].platform);
    EXPECT_EQ(idx->manifests[0].annotations.at("org.opencontainers.image.ref.name"), "latest");
    EXPECT_EQ(parse_index(to_json(*idx)).value(), *idx);
}

TEST(ImageSpec, DockerManifestList) {
    std::string list = fx(R"({"schemaVersion":2,
      "mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
      "manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
        "size":527,"digest":"%1%","platform":{"architecture":"amd64","os":"windows",
        "os.version":"10.0.17763.5122","os.features":["win32k"]}}]})");
    auto idx = parse_index(list);
    ASSERT_TRUE(idx) << idx.error().msg;
    EXPECT_EQ(idx->media_type, media_type::kDockerManifestList);
    const Platform& p = *idx->manifests[0].platform;
    EXPECT_EQ(p.os_version, "10.0.17763.5122");
    EXPECT_EQ(p.os_features, std::vector<std::string>{"win32k"});
    EXPECT_EQ(to_json(idx->manifests[0]),
              fx(R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                 R"("digest":"%1%","size":527,"platform":{"architecture":"amd64","os":"windows",)"
                 R"("os.version":"10.0.17763.5122","os.features":["win32k"]}})"));
}

TEST(ImageSpec, ArtifactManifestWithSubjectAndData) {
    // An OCI 1.1 artifact (a signature): empty config with embedded data, subject, artifactType.
    std::string doc =
        fx(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "artifactType":"application/vnd.example.signature",
      "config":{"mediaType":"application/vnd.oci.empty.v1+json",
        "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size":2,"data":"e30="},
      "layers":[{"mediaType":"application/vnd.oci.empty.v1+json",
        "digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size":2,"urls":["https://example.com/x"]}],
      "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%1%",
        "size":610},
      "annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"}})");
    auto m = parse_manifest(doc);
    ASSERT_TRUE(m) << m.error().msg;
    EXPECT_EQ(m->artifact_type, "application/vnd.example.signature");
    ASSERT_TRUE(m->config.data);
    EXPECT_EQ(*m->config.data, "{}");
    EXPECT_EQ(m->config.digest, digest_of("{}"));
    EXPECT_EQ(m->layers[0].urls, std::vector<std::string>{"https://example.com/x"});
    ASSERT_TRUE(m->subject);
    EXPECT_EQ(m->subject->digest.string(), dg('1'));
    EXPECT_EQ(m->annotations.size(), 1u);
    std::string out = to_json(*m);
    EXPECT_THAT(out, HasSubstr(R"("size":2,"data":"e30="})"));
    EXPECT_THAT(out, HasSubstr(R"("artifactType":"application/vnd.example.signature","config")"));
    EXPECT_EQ(parse_manifest(out).value(), *m);
}

// ---- serialising new documents -------------------------------------------------------------

TEST(ImageSpec, MinimalConfigOmitsEmpty) {
    ImageConfig c;
    c.architecture = "amd64";
    c.os = "linux";
    EXPECT_EQ(to_json(c),
              R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers",)"
              R"("diff_ids":[]}})");
}

TEST(ImageSpec, FullConfigInSpecOrder) {
    ImageConfig c;
    c.created = "2024-05-01T10:00:00Z";
    c.author = "me";
    c.architecture = "arm64";
    c.os = "linux";
    c.variant = "v8";
    c.config.user = "nobody";
    c.config.exposed_ports = {"8080/tcp", "53/udp"};
    c.config.env = {"A=1"};
    c.config.entrypoint = {"/init"};
    c.config.cmd = {"serve"};
    c.config.volumes = {"/data"};
    c.config.working_dir = "/srv";
    c.config.labels = {{"k", "v"}};
    c.config.stop_signal = "SIGQUIT";
    c.config.args_escaped = true;
    c.config.healthcheck = HealthConfig{{"CMD", "true"}, 30000000000, 0, 0, 0, 3};
    c.config.on_build = {"RUN x"};
    c.config.shell = {"/bin/bash", "-c"};
    c.rootfs.diff_ids = {digest_of("layer")};
    c.history = {History{"2024-05-01T10:00:00Z", "RUN x", "", "", true}};
    std::string expect =
        R"({"created":"2024-05-01T10:00:00Z","author":"me","architecture":"arm64","os":"linux",)"
        R"("variant":"v8","config":{"User":"nobody","ExposedPorts":{"53/udp":{},"8080/tcp":{}},)"
        R"("Env":["A=1"],"Entrypoint":["/init"],"Cmd":["serve"],"Volumes":{"/data":{}},)"
        R"("WorkingDir":"/srv","Labels":{"k":"v"},"StopSignal":"SIGQUIT","ArgsEscaped":true,)"
        R"("Healthcheck":{"Test":["CMD","true"],"Interval":30000000000,"Retries":3},)"
        R"("OnBuild":["RUN x"],"Shell":["/bin/bash","-c"]},"rootfs":{"type":"layers",)"
        R"("diff_ids":[")" +
        digest_of("layer").string() +
        R"("]},"history":[{"created":"2024-05-01T10:00:00Z","created_by":"RUN x",)"
        R"("empty_layer":true}]})";
    EXPECT_EQ(to_json(c), expect);
    auto back = parse_image_config(expect);
    ASSERT_TRUE(back) << back.error().msg;
    ImageConfig sorted = c;
    sorted.config.exposed_ports = {"53/udp", "8080/tcp"};
    EXPECT_EQ(*back, sorted);
}

TEST(ImageSpec, NewManifestJson) {
    Manifest m;
    m.media_type = media_type::kOciManifest;
    m.config.media_type = media_type::kOciConfig;
    m.config.digest = digest_of("{}");
    m.config.size = 2;
    EXPECT_EQ(to_json(m),
              R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
              R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                  digest_of("{}").string() + R"(","size":2},"layers":[]})");
}

// ---- errors --------------------------------------------------------------------------------

struct ErrorCase {
    const char* name;
    std::string doc;
    std::string message;  // exact
    Errc code = Errc::InvalidArgument;
};

const std::string kCfg = R"("config":{"mediaType":"m","digest":"%a%","size":1})";

std::vector<ErrorCase> manifest_errors() {
    auto m = [](std::string body) { return fx("{" + body + "}"); };
    return {
        {"not json", "{",
         "manifest: malformed JSON at line 1, column 2: syntax error while parsing "
         "object key - unexpected end of input; expected string literal"},
        {"array", "[]", "manifest: expected an object, got array"},
        {"no schemaVersion", m(kCfg + R"(,"layers":[])"),
         "manifest: schemaVersion: missing required field"},
        {"schemaVersion string", m(R"("schemaVersion":"2",)" + kCfg + R"(,"layers":[])"),
         "manifest: schemaVersion: expected a signed 32-bit integer, got string"},
        {"schemaVersion 1", m(R"("schemaVersion":1,"fsLayers":[])"),
         "manifest: schemaVersion: schema version 1 (Docker's legacy manifest) is not supported",
         Errc::Unsupported},
        {"schemaVersion 3", m(R"("schemaVersion":3,)" + kCfg + R"(,"layers":[])"),
         "manifest: schemaVersion: expected 2, got 3"},
        {"index media type",
         m(R"("schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)" + kCfg +
           R"(,"layers":[])"),
         "manifest: mediaType: \"application/vnd.oci.image.index.v1+json\" is not an image "
         "manifest media type"},
        {"unknown media type",
         m(R"("schemaVersion":2,"mediaType":"text/plain",)" + kCfg + R"(,"layers":[])"),
         "manifest: mediaType: \"text/plain\" is not an image manifest media type",
         Errc::Unsupported},
        {"mediaType number", m(R"("schemaVersion":2,"mediaType":5,)" + kCfg + R"(,"layers":[])"),
         "manifest: mediaType: expected a string, got 5"},
        {"no config", m(R"("schemaVersion":2,"layers":[])"),
         "manifest: config: missing required field"},
        {"config string", m(R"("schemaVersion":2,"config":"x","layers":[])"),
         "manifest: config: expected an object, got string"},
        {"config no mediaType",
         m(R"("schemaVersion":2,"config":{"digest":"%a%","size":1},)"
           R"("layers":[])"),
         "manifest: config.mediaType: missing required field"},
        {"config no digest",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","size":1},)"
           R"("layers":[])"),
         "manifest: config.digest: missing required field"},
        {"config no size",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","digest":"%a%"},)"
           R"("layers":[])"),
         "manifest: config.size: missing required field"},
        {"config size string",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","digest":"%a%","size":"1"},)"
           R"("layers":[])"),
         "manifest: config.size: expected a signed 64-bit integer, got string"},
        {"config size float",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","digest":"%a%","size":1.5},)"
           R"("layers":[])"),
         "manifest: config.size: expected a signed 64-bit integer, got 1.5"},
        {"config size negative",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","digest":"%a%","size":-1},)"
           R"("layers":[])"),
         "manifest: config.size: negative size -1"},
        {"config digest sha512",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","digest":"sha512:abc","size":1},)"
           R"("layers":[])"),
         "manifest: config.digest: invalid digest \"sha512:abc\": sha512 hex must be 128 "
         "characters, got 3"},
        {"config digest sha384",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","digest":"sha384:abc","size":1},)"
           R"("layers":[])"),
         "manifest: config.digest: digest \"sha384:abc\": unsupported algorithm sha384",
         Errc::Unsupported},
        {"no layers", m(R"("schemaVersion":2,)" + kCfg),
         "manifest: layers: missing required field"},
        {"layers object", m(R"("schemaVersion":2,)" + kCfg + R"(,"layers":{})"),
         "manifest: layers: expected an array, got object"},
        {"layers[2].digest",
         m(R"("schemaVersion":2,)" + kCfg +
           R"(,"layers":[)"
           R"({"mediaType":"m","digest":"%1%","size":1},)"
           R"({"mediaType":"m","digest":"%2%","size":1},)"
           R"({"mediaType":"m","digest":"sha256:xyz","size":1}])"),
         "manifest: layers[2].digest: invalid digest \"sha256:xyz\": sha256 hex must be 64 "
         "characters, got 3"},
        {"layer urls",
         m(R"("schemaVersion":2,)" + kCfg +
           R"(,"layers":[)"
           R"({"mediaType":"m","digest":"%1%","size":1,"urls":"u"}])"),
         "manifest: layers[0].urls: expected an array, got string"},
        {"annotation value",
         m(R"("schemaVersion":2,)" + kCfg +
           R"(,"layers":[],)"
           R"("annotations":{"org.x":1})"),
         "manifest: annotations[\"org.x\"]: expected a string, got 1"},
        {"data",
         m(R"("schemaVersion":2,"config":{"mediaType":"m","digest":"%a%","size":1,)"
           R"("data":"e30"},"layers":[])"),
         "manifest: config.data: invalid base64: length 3 is not a multiple of 4"},
        {"subject", m(R"("schemaVersion":2,)" + kCfg + R"(,"layers":[],"subject":[])"),
         "manifest: subject: expected an object, got array"},
        {"artifactType", m(R"("schemaVersion":2,"artifactType":true,)" + kCfg + R"(,"layers":[])"),
         "manifest: artifactType: expected a string, got boolean"},
    };
}

TEST(ImageSpecErrors, Manifest) {
    for (const auto& c : manifest_errors()) {
        auto r = parse_manifest(c.doc);
        ASSERT_FALSE(r) << c.name;
        EXPECT_EQ(r.error().msg, c.message) << c.name;
        EXPECT_EQ(r.error().code, c.code) << c.name;
    }
}

TEST(ImageSpecErrors, Index) {
    std::vector<ErrorCase> cases = {
        {"no manifests", R"({"schemaVersion":2})", "index: manifests: missing required field"},
        {"no schemaVersion", R"({"manifests":[]})", "index: schemaVersion: missing required field"},
        {"manifest media type",
         R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("manifests":[]})",
         "index: mediaType: \"application/vnd.oci.image.manifest.v1+json\" is not an image index "
         "media type"},
        {"manifests[0] not object", R"({"schemaVersion":2,"manifests":[1]})",
         "index: manifests[0]: expected an object, got 1"},
        {"platform.architecture",
         fx(R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"%1%","size":1,)"
            R"("platform":{"architecture":64,"os":"linux"}}]})"),
         "index: manifests[0].platform.architecture: expected a string, got 64"},
        {"platform.os missing",
         fx(R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"%1%","size":1,)"
            R"("platform":{"architecture":"amd64"}}]})"),
         "index: manifests[0].platform.os: missing required field"},
        {"platform.os.features",
         fx(R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"%1%","size":1,)"
            R"("platform":{"architecture":"amd64","os":"linux","os.features":[1]}}]})"),
         "index: manifests[0].platform[\"os.features\"][0]: expected a string, got 1"},
        {"digest missing algorithm",
         R"({"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"abc","size":1}]})",
         "index: manifests[0].digest: invalid digest \"abc\": missing algorithm"},
    };
    for (const auto& c : cases) {
        auto r = parse_index(c.doc);
        ASSERT_FALSE(r) << c.name;
        EXPECT_EQ(r.error().msg, c.message) << c.name;
        EXPECT_EQ(r.error().code, c.code) << c.name;
    }
}

TEST(ImageSpecErrors, Config) {
    const std::string rootfs = R"("rootfs":{"type":"layers","diff_ids":[]})";
    auto cfg = [&](std::string body) {
        return R"({"architecture":"amd64","os":"linux",)" + rootfs + body + "}";
    };
    std::vector<ErrorCase> cases = {
        {"no architecture", R"({"os":"linux",)" + rootfs + "}",
         "config: architecture: missing required field"},
        {"no os", R"({"architecture":"amd64",)" + rootfs + "}",
         "config: os: missing required field"},
        {"no rootfs", R"({"architecture":"amd64","os":"linux"})",
         "config: rootfs: missing required field"},
        {"rootfs type", R"({"architecture":"amd64","os":"linux","rootfs":{"type":"x"}})",
         "config: rootfs.type: expected \"layers\", got \"x\""},
        {"rootfs no type", R"({"architecture":"amd64","os":"linux","rootfs":{}})",
         "config: rootfs.type: missing required field"},
        {"diff_ids",
         R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers",)"
         R"("diff_ids":["sha256:AB"]}})",
         "config: rootfs.diff_ids[0]: invalid digest \"sha256:AB\": sha256 hex must be 64 "
         "characters, got 2"},
        {"created number", cfg(R"(,"created":1)"), "config: created: expected a string, got 1"},
        {"config array", cfg(R"(,"config":[])"), "config: config: expected an object, got array"},
        {"Env", cfg(R"(,"config":{"Env":"A=1"})"),
         "config: config.Env: expected an array, got string"},
        {"Cmd element", cfg(R"(,"config":{"Cmd":["a",null]})"),
         "config: config.Cmd[1]: expected a string, got null"},
        {"ExposedPorts value", cfg(R"(,"config":{"ExposedPorts":{"80/tcp":true}})"),
         "config: config.ExposedPorts[\"80/tcp\"]: expected an object, got boolean"},
        {"Volumes list", cfg(R"(,"config":{"Volumes":["/data"]})"),
         "config: config.Volumes: expected an object, got array"},
        {"Labels value", cfg(R"(,"config":{"Labels":{"a":false}})"),
         "config: config.Labels.a: expected a string, got boolean"},
        {"ArgsEscaped", cfg(R"(,"config":{"ArgsEscaped":"yes"})"),
         "config: config.ArgsEscaped: expected a boolean, got string"},
        {"Healthcheck.Retries", cfg(R"(,"config":{"Healthcheck":{"Retries":"3"}})"),
         "config: config.Healthcheck.Retries: expected a signed 32-bit integer, got string"},
        {"Healthcheck.Interval", cfg(R"(,"config":{"Healthcheck":{"Interval":1.5}})"),
         "config: config.Healthcheck.Interval: expected a signed 64-bit integer, got 1.5"},
        {"history object", cfg(R"(,"history":{})"),
         "config: history: expected an array, got object"},
        {"history empty_layer", cfg(R"(,"history":[{},{"empty_layer":"true"}])"),
         "config: history[1].empty_layer: expected a boolean, got string"},
    };
    for (const auto& c : cases) {
        auto r = parse_image_config(c.doc);
        ASSERT_FALSE(r) << c.name;
        EXPECT_EQ(r.error().msg, c.message) << c.name;
        EXPECT_EQ(r.error().code, c.code) << c.name;
    }
}

TEST(ImageSpecErrors, NullCountsAsAbsent) {
    auto r = parse_manifest(fx(R"({"schemaVersion":2,"config":null,"layers":[]})"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().msg, "manifest: config: missing required field");
    auto c = parse_image_config(
        R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":null},)"
        R"("config":{"Env":null,"Healthcheck":null},"history":null})");
    ASSERT_TRUE(c) << c.error().msg;
    EXPECT_FALSE(c->config.healthcheck);
}

TEST(ImageSpecErrors, EveryTruncationIsAnError) {
    // No prefix of a valid document parses, and none escapes as an exception.
    for (size_t n = 0; n < kBusyboxConfig.size(); ++n)
        EXPECT_FALSE(parse_image_config(std::string_view(kBusyboxConfig).substr(0, n))) << n;
    for (size_t n = 0; n < kBusyboxIndex.size(); ++n)
        EXPECT_FALSE(parse_index(std::string_view(kBusyboxIndex).substr(0, n))) << n;
    for (size_t n = 0; n < kBusyboxManifest.size(); ++n)
        EXPECT_FALSE(detect_media_type(std::string_view(kBusyboxManifest).substr(0, n))) << n;
}

TEST(ImageSpecErrors, Descriptor) {
    auto d = parse_descriptor(fx(R"({"mediaType":"m","digest":"%1%","size":3,"data":"YWJj"})"));
    ASSERT_TRUE(d) << d.error().msg;
    EXPECT_EQ(*d->data, "abc");
    auto bad = parse_descriptor(R"({"mediaType":"m","size":3})", "blob");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().msg, "blob: digest: missing required field");
}

// ---- helpers -------------------------------------------------------------------------------

TEST(ImageSpec, DetectMediaType) {
    EXPECT_EQ(detect_media_type(kBusyboxManifest).value(), media_type::kDockerManifest);
    EXPECT_EQ(detect_media_type(kBusyboxIndex).value(), media_type::kOciIndex);
    EXPECT_EQ(detect_media_type(R"({"schemaVersion":2,"manifests":[]})").value(),
              media_type::kOciIndex);
    EXPECT_EQ(detect_media_type(R"({"schemaVersion":2,"config":{},"layers":[]})").value(),
              media_type::kOciManifest);
    EXPECT_EQ(detect_media_type(R"({"schemaVersion":1,"fsLayers":[]})").error().code,
              Errc::Unsupported);
    EXPECT_EQ(detect_media_type(
                  R"({"mediaType":"application/vnd.docker.distribution.manifest.v1+prettyjws"})")
                  .error()
                  .code,
              Errc::Unsupported);
    EXPECT_EQ(detect_media_type(R"({"schemaVersion":2})").error().code, Errc::InvalidArgument);
    EXPECT_EQ(detect_media_type("not json").error().code, Errc::InvalidArgument);
    EXPECT_EQ(detect_media_type("[]").error().code, Errc::InvalidArgument);
}

TEST(ImageSpec, NormalizePlatform) {
    auto n = [](const char* arch, const char* variant, const char* os = "linux") {
        Platform p = normalize_platform(Platform{arch, os, "", {}, variant});
        return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
    };
    EXPECT_EQ(n("x86_64", ""), "linux/amd64");
    EXPECT_EQ(n("x86-64", "v1"), "linux/amd64");
    EXPECT_EQ(n("AMD64", "v3"), "linux/amd64/v3");
    EXPECT_EQ(n("aarch64", ""), "linux/arm64/v8");
    EXPECT_EQ(n("arm64", "8"), "linux/arm64/v8");
    EXPECT_EQ(n("arm64", "v8.0"), "linux/arm64/v8");
    EXPECT_EQ(n("arm64", "9"), "linux/arm64/v9");
    EXPECT_EQ(n("arm", ""), "linux/arm/v7");
    EXPECT_EQ(n("arm", "7"), "linux/arm/v7");
    EXPECT_EQ(n("arm", "6"), "linux/arm/v6");
    EXPECT_EQ(n("armhf", ""), "linux/arm/v7");
    EXPECT_EQ(n("armel", ""), "linux/arm/v6");
    EXPECT_EQ(n("i386", "x"), "linux/386");
    EXPECT_EQ(n("amd64", "", "MacOS"), "darwin/amd64");
}

struct MatchCase {
    Platform image;
    const char* os;
    const char* arch;
    const char* variant;
    bool match;
};

TEST(ImageSpec, PlatformMatches) {
    auto P = [](const char* arch, const char* variant, const char* os = "linux") {
        return Platform{arch, os, "", {}, variant};
    };
    std::vector<MatchCase> table = {
        {P("amd64", ""), "linux", "amd64", "", true},
        {P("amd64", ""), "linux", "x86_64", "", true},
        {P("amd64", ""), "windows", "amd64", "", false},
        {P("amd64", "v2"), "linux", "amd64", "", false},
        {P("amd64", "v2"), "linux", "amd64", "v3", true},
        {P("amd64", ""), "linux", "amd64", "v3", true},
        {P("arm64", "v8"), "linux", "aarch64", "", true},
        {P("arm64", ""), "linux", "arm64", "v8", true},
        {P("arm64", "v8"), "linux", "arm64", "v9", true},
        {P("arm64", "v9"), "linux", "arm64", "", false},
        {P("arm", "v7"), "linux", "arm", "", true},
        {P("arm", "v6"), "linux", "arm", "v7", true},
        {P("arm", "v5"), "linux", "arm", "v7", true},
        {P("arm", "v7"), "linux", "arm", "v6", false},
        {P("arm", ""), "linux", "arm", "v7", true},
        {P("arm", "v7"), "linux", "arm64", "", false},
        {P("386", ""), "linux", "i386", "", true},
        {P("ppc64le", ""), "linux", "ppc64le", "", true},
        {P("riscv64", "rva20"), "linux", "riscv64", "", false},
        {P("unknown", "", "unknown"), "linux", "amd64", "", false},
    };
    for (const auto& c : table) {
        EXPECT_EQ(platform_matches(c.image, c.os, c.arch, c.variant), c.match)
            << c.image.os << "/" << c.image.architecture << "/" << c.image.variant << " on " << c.os
            << "/" << c.arch << "/" << c.variant;
    }
}

TEST(ImageSpec, SelectManifest) {
    Index idx = parse_index(kBusyboxIndex).value();
    struct Case {
        const char* os;
        const char* arch;
        const char* variant;
        char digest;  // 0: not found
    };
    std::vector<Case> table = {
        {"linux", "amd64", "", '1'},     {"linux", "x86_64", "", '1'},
        {"linux", "arm", "", '4'},       {"linux", "arm", "v7", '4'},
        {"linux", "arm", "v6", '3'},     {"linux", "arm", "v5", '2'},
        {"linux", "armel", "", '3'},     {"linux", "arm64", "", '5'},
        {"linux", "aarch64", "", '5'},   {"linux", "arm64", "v8", '5'},
        {"linux", "386", "", '6'},       {"linux", "ppc64le", "", '8'},
        {"linux", "s390x", "", 0},       {"windows", "amd64", "", 0},
        {"unknown", "unknown", "", '7'},
    };
    for (const auto& c : table) {
        auto r = select_manifest(idx, c.os, c.arch, c.variant);
        std::string what = std::string(c.os) + "/" + c.arch + "/" + c.variant;
        if (c.digest == 0) {
            ASSERT_FALSE(r) << what;
            EXPECT_EQ(r.error().code, Errc::NotFound) << what;
            continue;
        }
        ASSERT_TRUE(r) << what << ": " << r.error().msg;
        EXPECT_EQ(r->digest.string(), dg(c.digest)) << what;
    }
    // Newer compatible variant wins over older one when there is no exact match.
    Index only_old = idx;
    only_old.manifests.erase(only_old.manifests.begin() + 3);  // drop arm/v7
    EXPECT_EQ(select_manifest(only_old, "linux", "arm", "v7")->digest.string(), dg('3'));
    auto miss = select_manifest(idx, "linux", "s390x");
    EXPECT_THAT(miss.error().msg, HasSubstr("select manifest for linux/s390x: no match among "
                                            "[linux/amd64, linux/arm/v5"));
}

}  // namespace
}  // namespace berth::oci
