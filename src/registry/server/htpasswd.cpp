#include "htpasswd.hpp"

#include <crypt.h>

#include <cstring>
#include <memory>

#include <openssl/crypto.h>

#include "berth/common/base64.hpp"
#include "berth/common/fs.hpp"
#include "berth/common/strings.hpp"

namespace berth::registry::server {

Result<Htpasswd> Htpasswd::load(const std::string& path) {
    auto text = read_file(path);
    if (!text) return Unexpected(std::move(text.error()).wrap("read htpasswd file {}", path));
    Htpasswd h;
    int lineno = 0;
    for (const auto& raw : split(*text, '\n')) {
        ++lineno;
        std::string_view line = trim(raw);
        if (line.empty() || line[0] == '#') continue;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return make_error(Errc::InvalidArgument, "htpasswd file {} line {}: not user:hash",
                              path, lineno);
        h.users_.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
    return h;
}

bool Htpasswd::check(std::string_view authorization) {
    authorization = trim(authorization);
    if (authorization.size() < 6 || strncasecmp(authorization.data(), "basic ", 6) != 0)
        return false;
    std::string_view b64 = trim(authorization.substr(6));
    {
        std::lock_guard lk(mu_);
        if (ok_.count(std::string(b64))) return true;
    }
    auto creds_r = base64_decode(b64);
    if (!creds_r) return false;
    const std::string& creds = *creds_r;
    size_t colon = creds.find(':');
    if (colon == std::string::npos) return false;
    auto it = users_.find(creds.substr(0, colon));
    if (it == users_.end()) return false;
    std::string password = creds.substr(colon + 1);
    auto data = std::make_unique<struct crypt_data>();
    const char* out = crypt_rn(password.c_str(), it->second.c_str(), data.get(), sizeof *data);
    if (out == nullptr || out[0] == '*') return false;
    const std::string& want = it->second;
    if (std::strlen(out) != want.size() || CRYPTO_memcmp(out, want.data(), want.size()) != 0)
        return false;
    std::lock_guard lk(mu_);
    if (ok_.size() > 1024) ok_.clear();
    ok_.insert(std::string(b64));
    return true;
}

}  // namespace berth::registry::server
