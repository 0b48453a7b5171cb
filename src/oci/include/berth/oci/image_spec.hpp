#pragma once
// OCI image-spec v1.1 and Docker image manifest v2 schema 2 as plain C++ types, with their JSON.
// The two formats share one set of types: a Docker manifest is an OCI manifest with other media
// types, a Docker manifest list is an OCI index, and a Docker image config is an OCI image config
// plus a few fields (Healthcheck, OnBuild, Shell, and legacy top-level members kept in `extra`).
//
// Digests and bytes. A blob's digest is the digest of its bytes as stored or pulled, never of a
// re-serialisation: to_json() writes canonical-ish JSON for *new* manifests and configs (what
// BuildKit or `docker save` would write), but parse -> to_json does not reproduce arbitrary input
// byte for byte (key order, spacing, number formatting and unknown nested fields differ). So
// whoever needs a blob's digest (the content store, save/load, registries) keeps the original
// bytes next to the parsed value; Parsed<T> below is the shape for that.
//
// Errors: parse functions return InvalidArgument with the JSON path of the offending field, e.g.
//   "manifest: layers[2].digest: invalid digest \"sha256:xyz\": ..."
//   "index: manifests[0].platform.architecture: expected a string, got number"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/digest.hpp"
#include "berth/common/result.hpp"

namespace berth::oci {

/// Media types of the OCI image-spec v1.1 and Docker's schema 2.
namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kOciLayerNondistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNondistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// The empty descriptor's type ("{}", 2 bytes), for artifacts without a config.
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";
/// Not a media type: the "imageLayoutVersion" an OCI layout's "oci-layout" file carries.
inline constexpr std::string_view kOciLayoutVersion = "1.0.0";

inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker's schema 1 (signed) manifests: recognised only to reject them clearly.
inline constexpr std::string_view kDockerSchema1Manifest =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1SignedManifest =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
}  // namespace media_type

/// True for the OCI manifest and Docker schema 2 manifest types.
[[nodiscard]] bool is_manifest_media_type(std::string_view mt) noexcept;
/// True for the OCI index and Docker manifest list types.
[[nodiscard]] bool is_index_media_type(std::string_view mt) noexcept;
/// True for layer types (OCI, including nondistributable, and Docker, including foreign).
[[nodiscard]] bool is_layer_media_type(std::string_view mt) noexcept;

/// The platform an image runs on (in descriptors of an index, and inline in image configs).
struct Platform {
    std::string architecture;              ///< GOARCH: "amd64", "arm64", "arm", ...
    std::string os;                        ///< GOOS: "linux", "windows", ...
    std::string os_version;                ///< "os.version" (Windows builds)
    std::vector<std::string> os_features;  ///< "os.features"
    std::string variant;                   ///< "v7", "v8", ...

    friend bool operator==(const Platform&, const Platform&) = default;
};

/// A content descriptor: what a blob is, its digest and size.
struct Descriptor {
    std::string media_type;
    /// Defaults to the digest of the empty blob so that Descriptor is default-constructible;
    /// parsing always sets it (it is required).
    Digest digest = digest_of("");
    int64_t size = 0;
    std::vector<std::string> urls;
    std::map<std::string, std::string> annotations;
    std::optional<Platform> platform;
    std::string artifact_type;
    /// Embedded content, *decoded* (JSON carries it base64-encoded). Not checked against
    /// digest/size here: a consumer that uses it must verify it, as for any fetched blob.
    std::optional<std::string> data;

    friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

/// An image manifest (OCI, or Docker schema 2 when media_type says so).
struct Manifest {
    int schema_version = 2;
    std::string media_type;  ///< may be empty in OCI manifests; Docker's always has it
    std::string artifact_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::optional<Descriptor> subject;
    std::map<std::string, std::string> annotations;

    friend bool operator==(const Manifest&, const Manifest&) = default;
};

/// An image index (OCI), also Docker's manifest list.
struct Index {
    int schema_version = 2;
    std::string media_type;
    std::string artifact_type;
    std::vector<Descriptor> manifests;
    std::optional<Descriptor> subject;
    std::map<std::string, std::string> annotations;

    friend bool operator==(const Index&, const Index&) = default;
};

/// Docker's HEALTHCHECK. Durations are nanoseconds, as Go's time.Duration marshals them.
struct HealthConfig {
    std::vector<std::string> test;  ///< {"NONE"}, {"CMD", ...}, {"CMD-SHELL", "..."}; "Test"
    int64_t interval = 0;
    int64_t timeout = 0;
    int64_t start_period = 0;
    int64_t start_interval = 0;
    int retries = 0;

    friend bool operator==(const HealthConfig&, const HealthConfig&) = default;
};

/// The execution parameters of an image ("config" in the image config). Sets ("ExposedPorts",
/// "Volumes") are objects mapping each key to {} in JSON (Go's map[string]struct{}) and sorted
/// vectors of the keys here. Docker's other legacy members (Hostname, Image, ...) are dropped.
struct ContainerConfig {
    std::string user;
    std::vector<std::string> exposed_ports;  ///< "80/tcp", sorted
    std::vector<std::string> env;            ///< "KEY=value"
    std::vector<std::string> entrypoint;
    std::vector<std::string> cmd;
    std::vector<std::string> volumes;  ///< sorted
    std::string working_dir;
    std::map<std::string, std::string> labels;
    std::string stop_signal;
    bool args_escaped = false;                ///< Windows only, deprecated; kept for round trips
    std::optional<HealthConfig> healthcheck;  ///< Docker extension
    std::vector<std::string> on_build;        ///< Docker extension
    std::vector<std::string> shell;           ///< Docker extension

    friend bool operator==(const ContainerConfig&, const ContainerConfig&) = default;
};

struct RootFs {
    std::string type = "layers";  ///< the only defined value
    std::vector<Digest> diff_ids;

    friend bool operator==(const RootFs&, const RootFs&) = default;
};

struct History {
    std::string created;  ///< RFC 3339, empty if absent
    std::string created_by;
    std::string author;
    std::string comment;
    bool empty_layer = false;

    friend bool operator==(const History&, const History&) = default;
};

/// The image config blob (OCI image config, and Docker's, which is a superset).
struct ImageConfig {
    std::string created;  ///< RFC 3339 as written (not re-formatted), empty if absent
    std::string author;
    std::string architecture;
    std::string os;
    std::string os_version;
    std::vector<std::string> os_features;
    std::string variant;
    ContainerConfig config;
    RootFs rootfs;
    std::vector<History> history;
    /// Top-level members this type does not model (Docker's "container", "container_config",
    /// "docker_version", "id", "parent", "comment", "size", ...), as compact JSON text, so that
    /// they survive parse -> to_json. Written after the modelled members, in key order.
    std::map<std::string, std::string> extra;

    /// The config's platform (architecture, os, os.version, os.features, variant).
    [[nodiscard]] Platform platform() const;

    friend bool operator==(const ImageConfig&, const ImageConfig&) = default;
};

/// A parsed blob together with its original bytes and their digest: what the store hands out,
/// since digests are of bytes and to_json(value) may differ from `raw`.
template <class T>
struct Parsed {
    T value;
    std::string raw;
    Digest digest;
};

/// Parses an image manifest. Requires schemaVersion 2, config and layers; a mediaType, when
/// present, must be a manifest type (an index, or Docker schema 1, is rejected). `origin`
/// prefixes errors. Unknown members are ignored; null counts as absent, as in Go.
[[nodiscard]] Result<Manifest> parse_manifest(std::string_view json,
                                              std::string_view origin = "manifest");

/// Parses an image index or Docker manifest list (also an OCI layout's index.json). Requires
/// schemaVersion 2 and manifests (which may be empty).
[[nodiscard]] Result<Index> parse_index(std::string_view json, std::string_view origin = "index");

/// Parses an image config. Requires architecture, os and rootfs (with type "layers"), as the
/// spec does; everything else is optional. Unknown top-level members go to ImageConfig::extra.
[[nodiscard]] Result<ImageConfig> parse_image_config(std::string_view json,
                                                     std::string_view origin = "config");

/// Parses one descriptor object (as in a registry's or an API's JSON).
[[nodiscard]] Result<Descriptor> parse_descriptor(std::string_view json,
                                                  std::string_view origin = "descriptor");

/// Serialisers: compact JSON, members in the Go structs' order (image-spec, with Docker's
/// extensions after the OCI fields, as BuildKit writes them), omitting empty optional members as
/// Go's `omitempty` does. `pretty` indents with 2 spaces (for people and tests); the compact form
/// is what registries and BuildKit store.
[[nodiscard]] std::string to_json(const Descriptor& d, bool pretty = false);
[[nodiscard]] std::string to_json(const Manifest& m, bool pretty = false);
[[nodiscard]] std::string to_json(const Index& i, bool pretty = false);
[[nodiscard]] std::string to_json(const ImageConfig& c, bool pretty = false);

/// The media type of a manifest blob: its "mediaType" if it has one, else by shape ("manifests"
/// -> OCI index, "layers" -> OCI manifest), as containerd does for OCI blobs that omit it.
/// InvalidArgument if it is not JSON or neither shape; Unsupported for Docker schema 1.
[[nodiscard]] Result<std::string> detect_media_type(std::string_view json);

/// Platform names normalised as Docker/containerd do: os lower-cased ("macos" -> "darwin");
/// arch x86_64/x86-64 -> amd64, aarch64 -> arm64, i386 -> 386, armhf -> arm/v7, armel -> arm/v6;
/// arm variants "", "7" -> "v7", "5"/"6"/"8" -> "v5"/"v6"/"v8"; arm64 variants "", "8", "v8.0"
/// -> "v8"; amd64 variant "v1" -> "".
[[nodiscard]] Platform normalize_platform(const Platform& p);

/// The platform of this machine as image indexes name it: "linux" and uname's machine,
/// normalised (x86_64 -> amd64, aarch64 -> arm64/v8, ...).
[[nodiscard]] Platform host_platform();

/// True if an image built for `p` runs on os/arch/variant: same os and arch after
/// normalisation, and a compatible variant (equal, or for arm/arm64/amd64 an older level: an
/// arm/v7 host runs v6 and v5, arm64 v9 runs v8, amd64 v3 runs v2 and v1).
[[nodiscard]] bool platform_matches(const Platform& p, std::string_view os, std::string_view arch,
                                    std::string_view variant = "");

/// The descriptor in `index` best suited to os/arch/variant: an exact variant match first, then
/// the newest compatible variant; the first such in index order on ties. Descriptors without a
/// platform are skipped. NotFound (listing what the index has) if none matches.
[[nodiscard]] Result<Descriptor> select_manifest(const Index& index, std::string_view os,
                                                 std::string_view arch,
                                                 std::string_view variant = "");


}  // namespace berth::oci
