#include "credentials.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "berth/common/base64.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/unique_fd.hpp"
#include "format/reference.hpp"

namespace berth::cli {

using ojson = nlohmann::ordered_json;

std::string docker_config_dir() {
    if (const char* d = std::getenv("DOCKER_CONFIG"); d != nullptr && *d != '\0') return d;
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr && *home != '\0' ? home : "/root") + "/.docker";
}

std::string convert_to_hostname(std::string_view url) {
    std::string_view s = url;
    if (s.substr(0, 7) == "http://")
        s.remove_prefix(7);
    else if (s.substr(0, 8) == "https://")
        s.remove_prefix(8);
    return std::string(s.substr(0, s.find('/')));
}

std::string auth_key_for_domain(std::string_view domain) {
    if (domain == "docker.io" || domain == "index.docker.io" || domain.empty())
        return std::string(kIndexServer);
    return std::string(domain);
}

std::string encode_auth_header(const std::optional<Credentials>& c) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    if (c) {
        // moby's AuthConfig field order, empty fields left out (omitempty).
        auto put = [&](const char* key, const std::string& v) {
            if (!v.empty()) j[key] = v;
        };
        put("username", c->username);
        put("password", c->password);
        put("serveraddress", c->server_address);
        put("identitytoken", c->identity_token);
        put("registrytoken", c->registry_token);
    }
    return base64_encode(j.dump(), Base64Alphabet::Url);
}

Result<ConfigFile> ConfigFile::load(std::string path) {
    ConfigFile f;
    f.path_ = std::move(path);
    if (!path_exists(f.path_)) return f;
    auto text = BERTH_TRY_CTX(read_file(f.path_), "loading config file {}", f.path_);
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) return f;
    f.doc_ = ojson::parse(text, nullptr, false);
    if (f.doc_.is_discarded() || !f.doc_.is_object())
        return make_error(Errc::InvalidArgument, "loading config file {}: not a JSON object",
                          f.path_);
    return f;
}

Result<ConfigFile> ConfigFile::load_default() {
    return load(docker_config_dir() + "/config.json");
}

std::optional<Credentials> ConfigFile::get(std::string_view server) const {
    auto auths = doc_.find("auths");
    if (auths == doc_.end() || !auths->is_object()) return std::nullopt;
    auto entry = auths->find(std::string(server));
    std::string key(server);
    if (entry == auths->end()) {
        // Older CLIs stored "https://host/v1/"-style keys: match them by host name.
        for (auto it = auths->begin(); it != auths->end(); ++it) {
            if (convert_to_hostname(it.key()) == server) {
                entry = it;
                key = it.key();
                break;
            }
        }
    }
    if (entry == auths->end() || !entry->is_object()) return std::nullopt;
    Credentials c;
    c.server_address = key;
    std::string auth = entry->value("auth", std::string());
    if (!auth.empty()) {
        auto decoded = base64_decode(auth);
        if (!decoded) return std::nullopt;
        auto colon = decoded->find(':');
        if (colon == std::string::npos) return std::nullopt;
        c.username = decoded->substr(0, colon);
        // docker trims the "\x00" padding some old tools left after the password.
        c.password = decoded->substr(colon + 1);
        while (!c.password.empty() && c.password.back() == '\0') c.password.pop_back();
    }
    c.identity_token = entry->value("identitytoken", std::string());
    c.registry_token = entry->value("registrytoken", std::string());
    if (c.username.empty() && c.password.empty() && c.identity_token.empty() &&
        c.registry_token.empty())
        return std::nullopt;
    return c;
}

void ConfigFile::store(const Credentials& c) {
    if (!doc_.contains("auths") || !doc_["auths"].is_object()) doc_["auths"] = ojson::object();
    ojson entry = ojson::object();
    if (!c.username.empty() || !c.password.empty())
        entry["auth"] = base64_encode(c.username + ":" + c.password);
    if (!c.identity_token.empty()) entry["identitytoken"] = c.identity_token;
    if (!c.registry_token.empty()) entry["registrytoken"] = c.registry_token;
    doc_["auths"][c.server_address] = std::move(entry);
}

bool ConfigFile::erase(std::string_view server) {
    auto auths = doc_.find("auths");
    if (auths == doc_.end() || !auths->is_object()) return false;
    return auths->erase(std::string(server)) > 0;
}

Result<void> ConfigFile::save() const {
    std::string dir = dirname_of(path_);
    BERTH_TRY_CTX(mkdir_all(dir, 0700), "save {}", path_);
    // Write through a symlink to its target, as docker does (dotfile managers link it).
    std::string target = path_;
    char real[PATH_MAX];
    if (::realpath(path_.c_str(), real) != nullptr) target = real;
    mode_t mode = 0600;
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0) mode = st.st_mode & 07777;
    std::string text = doc_.dump(1, '\t', false, ojson::error_handler_t::replace);
    std::string tmp = dirname_of(target) + "/.config.json.tmp-XXXXXX";
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd) return BERTH_SYS_ERROR("save {}: create a temporary file", path_);
    auto r = write_all(fd.get(), text, tmp);
    if (r && ::fchmod(fd.get(), mode) != 0) r = BERTH_SYS_ERROR("save {}: chmod", path_);
    if (r && ::fsync(fd.get()) != 0) r = BERTH_SYS_ERROR("save {}: fsync", path_);
    if (r && ::rename(tmp.c_str(), target.c_str()) != 0)
        r = BERTH_SYS_ERROR("save {}: rename {}", path_, tmp);
    if (!r) ::unlink(tmp.c_str());
    return r;
}

std::string registry_auth_for_image(std::string_view image) {
    auto ref = format::parse_normalized_named(image);
    if (!ref) return encode_auth_header(std::nullopt);
    std::string domain = ref->name.substr(0, ref->name.find('/'));
    auto config = ConfigFile::load_default();
    if (!config) return encode_auth_header(std::nullopt);
    return encode_auth_header(config->get(auth_key_for_domain(domain)));
}

}  // namespace berth::cli
