#pragma once
// Registry credentials and answers of the Engine API, mirroring moby's api/types/registry
// (AuthConfig, AuthenticateOKBody) and the push's aux record (PushResult). docker-api.md §5.1.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"

namespace berth::api::types {

/// Credentials for one registry, as clients send them (X-Registry-Auth, POST /auth) with
/// docker's JSON keys. Every field may be empty (anonymous).
struct AuthConfig {
    std::string username;
    std::string password;
    std::string auth;   ///< base64("user:password"), as config.json keeps it
    std::string email;  ///< deprecated; passed along, never needed
    std::string
        server_address;  ///< "serveraddress": "localhost:5000", "https://index.docker.io/v1/"
    std::string identity_token;  ///< "identitytoken": an OAuth refresh token from an earlier login
    std::string registry_token;  ///< "registrytoken": a bearer token sent to the registry as is

    bool operator==(const AuthConfig&) const = default;
};

/// Writes the non-empty fields only (Go's omitempty): {} for anonymous.
void to_json(nlohmann::json& j, const AuthConfig& a);

/// Reads an AuthConfig object; unknown keys are ignored, missing ones stay empty.
/// InvalidArgument naming the field when it is not an object or a field is not a string.
[[nodiscard]] Result<AuthConfig> auth_config_from_json(const nlohmann::json& j);

/// Decodes an X-Registry-Auth value: base64 JSON, either alphabet, padding optional (moby
/// decodes it as base64url; docker-py and others differ). "" gives an empty AuthConfig.
/// InvalidArgument when it is not base64 or not an AuthConfig object; the pull route
/// ignores such a header as moby does.
[[nodiscard]] Result<AuthConfig> decode_registry_auth(std::string_view header);

/// The X-Registry-Auth value for `a`: base64url (padded) of its JSON; "e30=" for anonymous.
[[nodiscard]] std::string encode_registry_auth(const AuthConfig& a);

/// POST /auth's answer: {"Status":"Login Succeeded"[,"IdentityToken":"..."]}.
struct AuthResponse {
    std::string status = "Login Succeeded";
    std::string identity_token;  ///< a refresh token when the token server gave one
};

void to_json(nlohmann::json& j, const AuthResponse& r);

/// One pushed tag: the aux record of the push stream ({"Tag","Digest","Size"}).
struct PushResult {
    std::string tag;     ///< "latest"
    std::string digest;  ///< the manifest's digest, "sha256:..."
    int64_t size = 0;    ///< the manifest's size in bytes
};

void to_json(nlohmann::json& j, const PushResult& r);

}  // namespace berth::api::types
