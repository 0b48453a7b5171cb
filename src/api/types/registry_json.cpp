#include "berth/api/types/registry.hpp"

#include "berth/common/base64.hpp"

namespace berth::api::types {

using json = nlohmann::json;

namespace {

// The (key, member) pairs of AuthConfig in moby's field order.
template <class A, class F>
void each_field(A& a, F&& f) {
    f("username", a.username);
    f("password", a.password);
    f("auth", a.auth);
    f("email", a.email);
    f("serveraddress", a.server_address);
    f("identitytoken", a.identity_token);
    f("registrytoken", a.registry_token);
}

}  // namespace

void to_json(json& j, const AuthConfig& a) {
    j = json::object();
    each_field(a, [&](const char* key, const std::string& v) {
        if (!v.empty()) j[key] = v;
    });
}

Result<AuthConfig> auth_config_from_json(const json& j) {
    if (!j.is_object())
        return make_error(Errc::InvalidArgument, "auth config: expected an object, got {}",
                          j.type_name());
    AuthConfig a;
    std::string bad;
    each_field(a, [&](const char* key, std::string& v) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return;
        if (!it->is_string()) {
            if (bad.empty()) bad = key;
            return;
        }
        v = it->get<std::string>();
    });
    if (!bad.empty())
        return make_error(Errc::InvalidArgument, "auth config: {}: expected a string", bad);
    return a;
}

Result<AuthConfig> decode_registry_auth(std::string_view header) {
    if (header.empty()) return AuthConfig{};
    auto text = base64_decode_lenient(header);
    if (!text) return Unexpected(std::move(text).error().wrap("decode the X-Registry-Auth header"));
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded())
        return make_error(Errc::InvalidArgument, "decode the X-Registry-Auth header: invalid JSON");
    auto a = auth_config_from_json(j);
    if (!a) return Unexpected(std::move(a).error().wrap("decode the X-Registry-Auth header"));
    return a;
}

std::string encode_registry_auth(const AuthConfig& a) {
    return base64_encode(json(a).dump(), Base64Alphabet::Url);
}

void to_json(json& j, const AuthResponse& r) {
    j = json{{"Status", r.status}};
    if (!r.identity_token.empty()) j["IdentityToken"] = r.identity_token;
}

void to_json(json& j, const PushResult& r) {
    j = json{{"Tag", r.tag}, {"Digest", r.digest}, {"Size", r.size}};
}

}  // namespace berth::api::types
