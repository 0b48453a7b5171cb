#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/common/base64.hpp"
#include "berth/oci/image_spec.hpp"
#include "json_reader.hpp"

// Parsing follows Go's encoding/json as containerd and moby use it with the image-spec types
// (unknown members ignored, null = absent), plus the checks the spec makes REQUIRED (schema
// version, descriptors' mediaType/digest/size, config's architecture/os/rootfs), because a store
// must not accept a manifest it cannot follow. Serialisation follows the Go structs' member order
// and `omitempty` rules. One difference remains: Go escapes <, > and & in strings as \u003c...,
// nlohmann does not; it only matters for byte-identity with Go, which nothing here relies on
// (digests are always of the original bytes, see image_spec.hpp).
//
// The reader and writer helpers are shared with spec_json.cpp (json_reader.hpp).

namespace berth::oci {
namespace {

using namespace detail;

Digest to_digest(Value v, const Path& path) {
    std::string s = to_string(v, path);
    auto d = Digest::parse(s);
    // Digest::parse's message already names the digest ("invalid digest \"...\": ...").
    if (!d) fail(path, d.error().msg, d.error().code);
    return *d;
}

// ---- parsing -------------------------------------------------------------------------------

Platform read_platform(const Obj& o) {
    Platform p;
    o.need_str("architecture", p.architecture);
    o.need_str("os", p.os);
    o.str("os.version", p.os_version);
    o.strings("os.features", p.os_features);
    o.str("variant", p.variant);
    return p;
}

Descriptor read_descriptor(const Obj& o) {
    Descriptor d;
    o.need_str("mediaType", d.media_type);
    d.digest = to_digest(o.need("digest"), o.sub("digest"));
    d.size = to_integer<int64_t>(o.need("size"), o.sub("size"));
    if (d.size < 0) fail(o.sub("size"), fmt::format("negative size {}", d.size));
    o.strings("urls", d.urls);
    o.string_map("annotations", d.annotations);
    if (auto v = o.get("data")) {
        std::string text = to_string(*v, o.sub("data"));
        auto bytes = base64_decode(text);
        if (!bytes) fail(o.sub("data"), bytes.error().msg);
        d.data = std::move(*bytes);
    }
    if (auto v = o.get("platform")) d.platform = read_platform(Obj(*v, o.sub("platform")));
    o.str("artifactType", d.artifact_type);
    return d;
}

Descriptor descriptor_at(Value v, const Path& path) {
    return read_descriptor(Obj(v, path));
}

void check_schema_version(const Obj& o, int& out) {
    Value v = o.need("schemaVersion");
    int n = to_integer<int>(v, o.sub("schemaVersion"));
    if (n == 1)
        fail(o.sub("schemaVersion"), "schema version 1 (Docker's legacy manifest) is not supported",
             Errc::Unsupported);
    if (n != 2) fail(o.sub("schemaVersion"), fmt::format("expected 2, got {}", n));
    out = n;
}

void read_manifest(const Obj& o, Manifest& m) {
    check_schema_version(o, m.schema_version);
    o.str("mediaType", m.media_type);
    if (!m.media_type.empty() && !is_manifest_media_type(m.media_type))
        fail(o.sub("mediaType"),
             fmt::format("\"{}\" is not an image manifest media type", json_escape(m.media_type)),
             is_index_media_type(m.media_type) ? Errc::InvalidArgument : Errc::Unsupported);
    o.str("artifactType", m.artifact_type);
    m.config = descriptor_at(o.need("config"), o.sub("config"));
    o.need("layers");
    o.array("layers", m.layers, descriptor_at);
    if (auto v = o.get("subject")) m.subject = descriptor_at(*v, o.sub("subject"));
    o.string_map("annotations", m.annotations);
}

void read_index(const Obj& o, Index& x) {
    check_schema_version(o, x.schema_version);
    o.str("mediaType", x.media_type);
    if (!x.media_type.empty() && !is_index_media_type(x.media_type))
        fail(o.sub("mediaType"),
             fmt::format("\"{}\" is not an image index media type", json_escape(x.media_type)),
             is_manifest_media_type(x.media_type) ? Errc::InvalidArgument : Errc::Unsupported);
    o.str("artifactType", x.artifact_type);
    o.need("manifests");
    o.array("manifests", x.manifests, descriptor_at);
    if (auto v = o.get("subject")) x.subject = descriptor_at(*v, o.sub("subject"));
    o.string_map("annotations", x.annotations);
}

HealthConfig read_health(const Obj& o) {
    HealthConfig h;
    o.strings("Test", h.test);
    o.integer("Interval", h.interval);
    o.integer("Timeout", h.timeout);
    o.integer("StartPeriod", h.start_period);
    o.integer("StartInterval", h.start_interval);
    if (auto v = o.get("Retries")) h.retries = to_integer<int>(*v, o.sub("Retries"));
    return h;
}

void read_container_config(const Obj& o, ContainerConfig& c) {
    o.str("User", c.user);
    o.key_set("ExposedPorts", c.exposed_ports);
    o.strings("Env", c.env);
    o.strings("Entrypoint", c.entrypoint);
    o.strings("Cmd", c.cmd);
    o.key_set("Volumes", c.volumes);
    o.str("WorkingDir", c.working_dir);
    o.string_map("Labels", c.labels);
    o.str("StopSignal", c.stop_signal);
    o.boolean("ArgsEscaped", c.args_escaped);
    if (auto v = o.get("Healthcheck"))
        c.healthcheck = read_health(Obj(*v, o.sub("Healthcheck")));
    o.strings("OnBuild", c.on_build);
    o.strings("Shell", c.shell);
}

constexpr std::string_view kConfigMembers[] = {
    "created",     "author",  "architecture", "os",     "os.version",
    "os.features", "variant", "config",       "rootfs", "history"};

void read_image_config(const Obj& o, ImageConfig& c) {
    o.str("created", c.created);
    o.str("author", c.author);
    o.need_str("architecture", c.architecture);
    o.need_str("os", c.os);
    o.str("os.version", c.os_version);
    o.strings("os.features", c.os_features);
    o.str("variant", c.variant);
    if (auto v = o.get("config")) read_container_config(Obj(*v, o.sub("config")), c.config);
    {
        Obj r(o.need("rootfs"), o.sub("rootfs"));
        r.need_str("type", c.rootfs.type);
        if (c.rootfs.type != "layers")
            fail(r.sub("type"),
                 fmt::format("expected \"layers\", got \"{}\"", json_escape(c.rootfs.type)));
        r.array("diff_ids", c.rootfs.diff_ids, to_digest);
    }
    o.array("history", c.history, [](Value e, const Path& p) {
        Obj h(e, p);
        History out;
        h.str("created", out.created);
        h.str("created_by", out.created_by);
        h.str("author", out.author);
        h.str("comment", out.comment);
        h.boolean("empty_layer", out.empty_layer);
        return out;
    });
    const json& raw = o.raw().nlohmann();  // parsed by nlohmann (Parser::Nlohmann)
    for (auto it = raw.begin(); it != raw.end(); ++it) {
        if (std::find(std::begin(kConfigMembers), std::end(kConfigMembers), it.key()) !=
            std::end(kConfigMembers))
            continue;
        c.extra.emplace(it.key(), it.value().dump());
    }
}

// ---- serialisation -------------------------------------------------------------------------

void put_set(ojson& o, const char* key, const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    std::vector<std::string> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    ojson obj = ojson::object();
    for (const auto& k : sorted) obj[k] = ojson::object();
    o[key] = std::move(obj);
}

ojson platform_json(const Platform& p) {
    ojson o = ojson::object();
    o["architecture"] = p.architecture;
    o["os"] = p.os;
    put_str(o, "os.version", p.os_version);
    put_strs(o, "os.features", p.os_features);
    put_str(o, "variant", p.variant);
    return o;
}

ojson descriptor_json(const Descriptor& d) {
    ojson o = ojson::object();
    o["mediaType"] = d.media_type;
    o["digest"] = d.digest.string();
    o["size"] = d.size;
    put_strs(o, "urls", d.urls);
    put_map(o, "annotations", d.annotations);
    if (d.data && !d.data->empty()) o["data"] = base64_encode(*d.data);
    if (d.platform) o["platform"] = platform_json(*d.platform);
    put_str(o, "artifactType", d.artifact_type);
    return o;
}

ojson descriptors_json(const std::vector<Descriptor>& ds) {
    ojson a = ojson::array();
    for (const auto& d : ds) a.push_back(descriptor_json(d));
    return a;
}

ojson container_config_json(const ContainerConfig& c) {
    ojson o = ojson::object();
    put_str(o, "User", c.user);
    put_set(o, "ExposedPorts", c.exposed_ports);
    put_strs(o, "Env", c.env);
    put_strs(o, "Entrypoint", c.entrypoint);
    put_strs(o, "Cmd", c.cmd);
    put_set(o, "Volumes", c.volumes);
    put_str(o, "WorkingDir", c.working_dir);
    put_map(o, "Labels", c.labels);
    put_str(o, "StopSignal", c.stop_signal);
    if (c.args_escaped) o["ArgsEscaped"] = true;
    if (c.healthcheck) {
        const HealthConfig& h = *c.healthcheck;
        ojson hj = ojson::object();
        put_strs(hj, "Test", h.test);
        if (h.interval != 0) hj["Interval"] = h.interval;
        if (h.timeout != 0) hj["Timeout"] = h.timeout;
        if (h.start_period != 0) hj["StartPeriod"] = h.start_period;
        if (h.start_interval != 0) hj["StartInterval"] = h.start_interval;
        if (h.retries != 0) hj["Retries"] = h.retries;
        o["Healthcheck"] = std::move(hj);
    }
    put_strs(o, "OnBuild", c.on_build);
    put_strs(o, "Shell", c.shell);
    return o;
}

std::string dump(const ojson& o, bool pretty) {
    return pretty ? o.dump(2) : o.dump();
}

int variant_level(std::string_view arch, std::string_view variant) {
    // amd64's "" is v1 and arm64's normalised default is "v8"; arm always has one after
    // normalisation. Returns -1 for variants that are not "v<N>[.<M>]".
    if (variant.empty()) return arch == "amd64" ? 1 : 0;
    if (variant[0] != 'v' || variant.size() < 2) return -1;
    int n = 0;
    size_t i = 1;
    for (; i < variant.size() && std::isdigit(static_cast<unsigned char>(variant[i])); ++i)
        n = n * 10 + (variant[i] - '0');
    if (i == 1) return -1;
    return n;
}

/// How well an image for `p` fits the wanted (normalised) platform: -1 if it does not run
/// there, 1000 for an exact variant, else the variant level (newer = better).
int match_score(const Platform& p, const Platform& want) {
    Platform have = normalize_platform(p);
    if (have.os != want.os || have.architecture != want.architecture) return -1;
    if (have.variant == want.variant) return 1000;
    const std::string& arch = want.architecture;
    if (arch != "arm" && arch != "arm64" && arch != "amd64") return -1;
    int h = variant_level(arch, have.variant);
    int w = variant_level(arch, want.variant);
    if (h < 0 || w < 0 || h > w) return -1;
    return h;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

// ---- media types ---------------------------------------------------------------------------

bool is_manifest_media_type(std::string_view mt) noexcept {
    return mt == media_type::kOciManifest || mt == media_type::kDockerManifest;
}

bool is_index_media_type(std::string_view mt) noexcept {
    return mt == media_type::kOciIndex || mt == media_type::kDockerManifestList;
}

bool is_layer_media_type(std::string_view mt) noexcept {
    namespace m = media_type;
    return mt == m::kOciLayer || mt == m::kOciLayerGzip || mt == m::kOciLayerZstd ||
           mt == m::kOciLayerNondistributable || mt == m::kOciLayerNondistributableGzip ||
           mt == m::kOciLayerNondistributableZstd || mt == m::kDockerLayerGzip ||
           mt == m::kDockerForeignLayerGzip;
}

Platform ImageConfig::platform() const {
    return Platform{architecture, os, os_version, os_features, variant};
}

// ---- parse / serialise ---------------------------------------------------------------------

Result<Manifest> parse_manifest(std::string_view json, std::string_view origin) {
    return parse_document<Manifest>(json, origin, read_manifest);
}

Result<Index> parse_index(std::string_view json, std::string_view origin) {
    return parse_document<Index>(json, origin, read_index);
}

Result<ImageConfig> parse_image_config(std::string_view json, std::string_view origin) {
    return parse_document<ImageConfig>(json, origin, read_image_config);
}

Result<Descriptor> parse_descriptor(std::string_view json, std::string_view origin) {
    return parse_document<Descriptor>(json, origin,
                                      [](const Obj& o, Descriptor& d) { d = read_descriptor(o); });
}

std::string to_json(const Descriptor& d, bool pretty) {
    return dump(descriptor_json(d), pretty);
}

std::string to_json(const Manifest& m, bool pretty) {
    ojson o = ojson::object();
    o["schemaVersion"] = m.schema_version;
    put_str(o, "mediaType", m.media_type);
    put_str(o, "artifactType", m.artifact_type);
    o["config"] = descriptor_json(m.config);
    o["layers"] = descriptors_json(m.layers);
    if (m.subject) o["subject"] = descriptor_json(*m.subject);
    put_map(o, "annotations", m.annotations);
    return dump(o, pretty);
}

std::string to_json(const Index& x, bool pretty) {
    ojson o = ojson::object();
    o["schemaVersion"] = x.schema_version;
    put_str(o, "mediaType", x.media_type);
    put_str(o, "artifactType", x.artifact_type);
    o["manifests"] = descriptors_json(x.manifests);
    if (x.subject) o["subject"] = descriptor_json(*x.subject);
    put_map(o, "annotations", x.annotations);
    return dump(o, pretty);
}

std::string to_json(const ImageConfig& c, bool pretty) {
    ojson o = ojson::object();
    put_str(o, "created", c.created);
    put_str(o, "author", c.author);
    o["architecture"] = c.architecture;
    o["os"] = c.os;
    put_str(o, "os.version", c.os_version);
    put_strs(o, "os.features", c.os_features);
    put_str(o, "variant", c.variant);
    // Go's omitempty does not omit a struct, so "config" is always there (BuildKit writes {}).
    o["config"] = container_config_json(c.config);
    ojson diff_ids = ojson::array();
    for (const auto& d : c.rootfs.diff_ids) diff_ids.push_back(d.string());
    o["rootfs"] = ojson{{"type", c.rootfs.type}, {"diff_ids", std::move(diff_ids)}};
    if (!c.history.empty()) {
        ojson hs = ojson::array();
        for (const auto& h : c.history) {
            ojson e = ojson::object();
            put_str(e, "created", h.created);
            put_str(e, "created_by", h.created_by);
            put_str(e, "author", h.author);
            put_str(e, "comment", h.comment);
            if (h.empty_layer) e["empty_layer"] = true;
            hs.push_back(std::move(e));
        }
        o["history"] = std::move(hs);
    }
    for (const auto& [k, v] : c.extra) {
        if (o.contains(k)) continue;  // a modelled member wins over a stale copy
        ojson value = ojson::parse(v, nullptr, /*allow_exceptions=*/false);
        if (value.is_discarded()) continue;  // not JSON: only a hand-made `extra` can be
        o[k] = std::move(value);
    }
    return dump(o, pretty);
}

// ---- helpers -------------------------------------------------------------------------------

Result<std::string> detect_media_type(std::string_view text) {
    json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object())
        return make_error(Errc::InvalidArgument, "detect media type: not a JSON object");
    auto mt = doc.find("mediaType");
    if (mt != doc.end() && mt->is_string() && !mt->get<std::string>().empty()) {
        std::string s = mt->get<std::string>();
        if (s == media_type::kDockerSchema1Manifest ||
            s == media_type::kDockerSchema1SignedManifest)
            return make_error(Errc::Unsupported,
                              "detect media type: Docker schema 1 manifests are not supported");
        return s;
    }
    auto sv = doc.find("schemaVersion");
    if (sv != doc.end() && *sv == 1)
        return make_error(Errc::Unsupported,
                          "detect media type: Docker schema 1 manifests are not supported");
    if (doc.contains("manifests")) return std::string(media_type::kOciIndex);
    if (doc.contains("layers") || doc.contains("config"))
        return std::string(media_type::kOciManifest);
    return make_error(Errc::InvalidArgument,
                      "detect media type: neither a manifest (no \"layers\") nor an index (no "
                      "\"manifests\")");
}

Platform host_platform() {
    struct utsname u {};
    Platform p;
    p.os = "linux";
    // uname(2) cannot fail with a valid buffer; an empty machine would only give no match.
    if (::uname(&u) == 0) p.architecture = u.machine;
    return normalize_platform(p);
}

Platform normalize_platform(const Platform& p) {
    Platform out = p;
    out.os = lower(p.os);
    if (out.os == "macos") out.os = "darwin";
    std::string arch = lower(p.architecture);
    std::string variant = lower(p.variant);
    if (arch == "i386") {
        arch = "386";
        variant.clear();
    } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
        arch = "amd64";
        if (variant == "v1") variant.clear();
    } else if (arch == "aarch64" || arch == "arm64") {
        arch = "arm64";
        if (variant.empty() || variant == "8" || variant == "v8" || variant == "v8.0")
            variant = "v8";
        else if (variant == "9" || variant == "9.0" || variant == "v9.0")
            variant = "v9";
    } else if (arch == "armhf") {
        arch = "arm";
        variant = "v7";
    } else if (arch == "armel") {
        arch = "arm";
        variant = "v6";
    } else if (arch == "arm") {
        if (variant.empty() || variant == "7")
            variant = "v7";
        else if (variant == "5" || variant == "6" || variant == "8")
            variant = "v" + variant;
    }
    out.architecture = std::move(arch);
    out.variant = std::move(variant);
    return out;
}

bool platform_matches(const Platform& p, std::string_view os, std::string_view arch,
                      std::string_view variant) {
    Platform want = normalize_platform(
        Platform{std::string(arch), std::string(os), {}, {}, std::string(variant)});
    return match_score(p, want) >= 0;
}

Result<Descriptor> select_manifest(const Index& index, std::string_view os, std::string_view arch,
                                   std::string_view variant) {
    Platform want = normalize_platform(
        Platform{std::string(arch), std::string(os), {}, {}, std::string(variant)});
    const Descriptor* best = nullptr;
    int best_score = -1;
    std::string available;
    for (const auto& d : index.manifests) {
        if (!d.platform) continue;
        const Platform& p = *d.platform;
        if (!available.empty()) available += ", ";
        available += p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
        int score = match_score(p, want);
        if (score > best_score) {
            best_score = score;
            best = &d;
        }
    }
    if (!best) {
        std::string wanted =
            want.os + "/" + want.architecture + (want.variant.empty() ? "" : "/" + want.variant);
        return make_error(Errc::NotFound, "select manifest for {}: no match among [{}]", wanted,
                          available);
    }
    return *best;
}

}  // namespace berth::oci
