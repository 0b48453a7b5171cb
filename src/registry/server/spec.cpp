#include "spec.hpp"

#include <fmt/format.h>

#include "berth/common/strings.hpp"
#include "berth/oci/image_spec.hpp"

namespace berth::registry::server {

namespace {

using namespace oci::media_type;

bool lower_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) noexcept {
    size_t i = 0;
    auto alnums = [&] {
        size_t start = i;
        while (i < c.size() && lower_alnum(c[i])) ++i;
        return i > start;
    };
    if (!alnums()) return false;
    while (i < c.size()) {
        if (c[i] == '.') {
            ++i;
        } else if (c[i] == '_') {
            ++i;
            if (i < c.size() && c[i] == '_') ++i;
        } else if (c[i] == '-') {
            while (i < c.size() && c[i] == '-') ++i;
        } else {
            return false;
        }
        if (!alnums()) return false;
    }
    return true;
}

struct CodeInfo {
    const char* name;
    unsigned status;
    const char* message;
};

CodeInfo info(Code c) {
    switch (c) {
        case Code::BlobUnknown:
            return {"BLOB_UNKNOWN", 404, "blob unknown to registry"};
        case Code::BlobUploadInvalid:
            return {"BLOB_UPLOAD_INVALID", 400, "blob upload invalid"};
        case Code::BlobUploadUnknown:
            return {"BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"};
        case Code::DigestInvalid:
            return {"DIGEST_INVALID", 400, "provided digest did not match uploaded content"};
        case Code::ManifestBlobUnknown:
            return {"MANIFEST_BLOB_UNKNOWN", 400,
                    "manifest references a manifest or blob unknown "
                    "to registry"};
        case Code::ManifestInvalid:
            return {"MANIFEST_INVALID", 400, "manifest invalid"};
        case Code::ManifestUnknown:
            return {"MANIFEST_UNKNOWN", 404, "manifest unknown"};
        case Code::NameInvalid:
            return {"NAME_INVALID", 400, "invalid repository name"};
        case Code::NameUnknown:
            return {"NAME_UNKNOWN", 404, "repository name not known to registry"};
        case Code::SizeInvalid:
            return {"SIZE_INVALID", 400, "provided length did not match content length"};
        case Code::TagInvalid:
            return {"TAG_INVALID", 400, "manifest tag did not match URI"};
        case Code::Unauthorized:
            return {"UNAUTHORIZED", 401, "authentication required"};
        case Code::Denied:
            return {"DENIED", 403, "requested access to the resource is denied"};
        case Code::Unsupported:
            return {"UNSUPPORTED", 405, "the operation is unsupported"};
        case Code::TooManyRequests:
            return {"TOOMANYREQUESTS", 429, "too many requests"};
        case Code::RangeInvalid:
            return {"BLOB_UPLOAD_INVALID", 416, "requested range not satisfiable"};
    }
    return {"UNKNOWN", 500, "unknown error"};
}

}  // namespace

bool valid_repo_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255) return false;
    size_t start = 0;
    for (;;) {
        size_t slash = name.find('/', start);
        std::string_view comp = name.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (!valid_component(comp)) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool valid_tag(std::string_view tag) noexcept {
    if (tag.empty() || tag.size() > 128) return false;
    auto word = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    };
    if (!word(tag[0])) return false;
    for (char c : tag.substr(1))
        if (!word(c) && c != '.' && c != '-') return false;
    return true;
}

bool known_manifest_type(std::string_view t) noexcept {
    return t == kOciManifest || t == kOciIndex || t == kDockerManifest || t == kDockerManifestList;
}

bool is_index_type(std::string_view t) noexcept {
    return t == kOciIndex || t == kDockerManifestList;
}

HttpResponse error_response(Code code, std::string_view message, std::string_view detail_json) {
    CodeInfo ci = info(code);
    HttpResponse r;
    r.status = ci.status;
    r.set("Content-Type", "application/json");
    r.body = fmt::format(R"({{"errors":[{{"code":"{}","message":"{}","detail":{}}}]}})", ci.name,
                         json_escape(message.empty() ? std::string_view(ci.message) : message),
                         detail_json.empty() ? std::string_view("null") : detail_json);
    r.body += '\n';
    return r;
}

}  // namespace berth::registry::server
