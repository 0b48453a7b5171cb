#pragma once
// Registry credentials in docker's client config file ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json), read and written the way docker/cli's configfile and file store do,
// so that berth and docker share logins. Credential helpers (credsStore, credHelpers) are out
// of scope: credentials always live in the file's "auths".

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"

namespace berth::cli {

/// Docker Hub's key in "auths" (registry.IndexServer).
inline constexpr std::string_view kIndexServer = "https://index.docker.io/v1/";

/// One registry's credentials as the daemon wants them in X-Registry-Auth.
struct Credentials {
    std::string username;
    std::string password;
    std::string server_address;  ///< the "auths" key: "localhost:5000", kIndexServer
    std::string identity_token;  ///< a refresh token a login returned (then no password)
    std::string registry_token;
};

/// $DOCKER_CONFIG when set, else $HOME/.docker.
std::string docker_config_dir();

/// docker's credentials.ConvertToHostname: "https://host:5000/v1/" -> "host:5000".
std::string convert_to_hostname(std::string_view url);

/// The "auths" key for a registry domain of a normalized reference: kIndexServer for
/// docker.io (and index.docker.io), the domain itself otherwise.
std::string auth_key_for_domain(std::string_view domain);

/// The X-Registry-Auth value: base64url of the JSON AuthConfig with only the non-empty fields
/// (docker's EncodeAuthConfig); "e30=" ({}) without credentials.
std::string encode_auth_header(const std::optional<Credentials>& c);

/// config.json in memory. Keys berth does not know are kept as they are, in their order.
class ConfigFile {
public:
    /// Reads `path`; a missing file gives an empty config. InvalidArgument when it is not a
    /// JSON object ("loading config file <path>: ..."), or the read error.
    [[nodiscard]] static Result<ConfigFile> load(std::string path);

    /// load(docker_config_dir() + "/config.json").
    [[nodiscard]] static Result<ConfigFile> load_default();

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] const nlohmann::ordered_json& json() const noexcept { return doc_; }

    /// The credentials stored for `server` (the exact key, else a key whose hostname is
    /// `server`, as docker's file store looks them up); nullopt when there are none or the
    /// entry's "auth" does not decode.
    [[nodiscard]] std::optional<Credentials> get(std::string_view server) const;

    /// Stores `c` under c.server_address as docker does: {"auth": base64(user:password)} plus
    /// "identitytoken"/"registrytoken" when set (the entry is replaced).
    void store(const Credentials& c);

    /// Removes the entry `server` (exact key). Returns true if there was one.
    bool erase(std::string_view server);

    /// Writes the file atomically (a temporary file in the same directory, renamed), with
    /// docker's tab indentation. A new file gets mode 0600 (its directory 0700); an existing
    /// one keeps its mode, and a symlink is written through. Errors: the file system's.
    [[nodiscard]] Result<void> save() const;

private:
    std::string path_;
    nlohmann::ordered_json doc_ = nlohmann::ordered_json::object();
};

/// The X-Registry-Auth header for pulling or pushing `image` (a reference as the user typed
/// it): the stored credentials of its registry, or "e30=" when there are none or config.json
/// can't be read (docker goes on anonymously too).
std::string registry_auth_for_image(std::string_view image);

}  // namespace berth::cli
