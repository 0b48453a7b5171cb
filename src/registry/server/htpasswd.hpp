#pragma once
// Basic authentication against an htpasswd file (`htpasswd -B` bcrypt lines; any other hash
// crypt(3) knows works too), verified with libxcrypt's crypt_rn.

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth::registry::server {

class Htpasswd {
public:
    /// Loads "user:hash" lines (blank lines and '#' comments skipped). NotFound / InvalidArgument
    /// with the file's name.
    [[nodiscard]] static Result<Htpasswd> load(const std::string& path);

    /// True if the Authorization header value ("Basic <base64 user:password>") names a user of
    /// the file with the right password. Successful checks are cached (bcrypt is slow on
    /// purpose, and clients send the header with every request).
    [[nodiscard]] bool check(std::string_view authorization);

    Htpasswd(Htpasswd&& o) noexcept : users_(std::move(o.users_)), ok_(std::move(o.ok_)) {}

private:
    Htpasswd() = default;
    std::map<std::string, std::string> users_;
    std::mutex mu_;
    std::set<std::string> ok_;
};

}  // namespace berth::registry::server
