#include "repo_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "berth/common/fs.hpp"

namespace berth::registry::server {

using json = nlohmann::json;

namespace {

constexpr std::string_view kRepoFile = "_repo.json";

std::string encode(const RepoData& d) {
    json j;
    j["tags"] = d.tags;
    json m = json::object();
    for (const auto& [dg, meta] : d.manifests) {
        json e{{"mediaType", meta.media_type}, {"size", meta.size}};
        if (!meta.subject.empty()) e["subject"] = meta.subject;
        if (!meta.artifact_type.empty()) e["artifactType"] = meta.artifact_type;
        if (!meta.annotations.empty()) e["annotations"] = json::parse(meta.annotations);
        m[dg] = std::move(e);
    }
    j["manifests"] = std::move(m);
    j["blobs"] = d.blobs;
    return j.dump();
}

Result<RepoData> decode(const std::string& text, const std::string& path) {
    try {
        json j = json::parse(text);
        RepoData d;
        if (j.contains("tags")) d.tags = j["tags"].get<std::map<std::string, std::string>>();
        const json& ms = j.contains("manifests") ? j["manifests"] : json::object();
        for (auto it = ms.begin(); it != ms.end(); ++it) {
            const std::string& dg = it.key();
            const json& e = it.value();
            ManifestMeta meta;
            meta.media_type = e.value("mediaType", "");
            meta.size = e.value("size", uint64_t{0});
            meta.subject = e.value("subject", "");
            meta.artifact_type = e.value("artifactType", "");
            if (e.contains("annotations")) meta.annotations = e["annotations"].dump();
            d.manifests.emplace(dg, std::move(meta));
        }
        if (j.contains("blobs")) d.blobs = j["blobs"].get<std::set<std::string>>();
        return d;
    } catch (const json::exception& e) {
        return make_error(Errc::Internal, "parse repository metadata {}: {}", path, e.what());
    }
}

std::string owned_path(const std::string& dir, const Digest& d) {
    return dir + "/owned/" + d.algorithm() + "/" + d.hex();
}

}  // namespace

std::string RepoStore::repo_file(const std::string& name) const {
    return dir_ + "/repositories/" + name + "/" + std::string(kRepoFile);
}

Result<RepoData*> RepoStore::load_locked(const std::string& name) {
    auto it = cache_.find(name);
    if (it == cache_.end()) {
        std::string path = repo_file(name);
        auto text = read_file(path);
        std::optional<RepoData> d;
        if (text) {
            d = BERTH_TRY(decode(*text, path));
        } else if (text.error().code != Errc::NotFound) {
            return Unexpected(std::move(text.error()).wrap("read repository metadata {}", path));
        }
        it = cache_.emplace(name, std::move(d)).first;
    }
    return it->second ? &*it->second : nullptr;
}

Result<void> RepoStore::save_locked(const std::string& name, RepoData data) {
    std::string path = repo_file(name);
    BERTH_TRY_CTX(mkdir_all(dirname_of(path)), "create repository directory for {}", name);
    BERTH_TRY_CTX(atomic_write_file(path, encode(data)), "write repository metadata of {}", name);
    cache_[name] = std::move(data);
    return {};
}

Result<std::optional<RepoData>> RepoStore::get(const std::string& name) {
    std::lock_guard lk(mu_);
    RepoData* d = BERTH_TRY(load_locked(name));
    if (!d) return std::optional<RepoData>{};
    return std::optional<RepoData>(*d);
}

Result<void> RepoStore::scan_locked(const std::string& dir, const std::string& prefix,
                                    std::vector<std::string>& out) {
    auto names = list_dir(dir);
    if (!names) {
        if (names.error().code == Errc::NotFound) return {};
        return Unexpected(std::move(names.error()).wrap("list {}", dir));
    }
    for (const auto& n : *names) {
        if (n == kRepoFile) {
            if (!prefix.empty()) out.push_back(prefix);
            continue;
        }
        if (n.empty() || n[0] == '_' || n[0] == '.') continue;
        struct stat st {};
        std::string sub = dir + "/" + n;
        if (::lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
            BERTH_TRY(scan_locked(sub, prefix.empty() ? n : prefix + "/" + n, out));
    }
    return {};
}

Result<std::vector<std::string>> RepoStore::list() {
    std::lock_guard lk(mu_);
    std::vector<std::string> out;
    BERTH_TRY(scan_locked(dir_ + "/repositories", "", out));
    std::sort(out.begin(), out.end());
    return out;
}

Result<bool> RepoStore::linked_anywhere(const std::string& digest) {
    std::vector<std::string> names;
    {
        std::lock_guard lk(mu_);
        BERTH_TRY(scan_locked(dir_ + "/repositories", "", names));
    }
    for (const auto& n : names) {
        std::lock_guard lk(mu_);
        RepoData* d = BERTH_TRY(load_locked(n));
        if (d && (d->blobs.count(digest) || d->manifests.count(digest))) return true;
    }
    return false;
}

Result<void> RepoStore::mark_owned(const Digest& d) {
    std::string path = owned_path(dir_, d);
    BERTH_TRY_CTX(mkdir_all(dirname_of(path)), "create {}", dirname_of(path));
    return atomic_write_file(path, "");
}

bool RepoStore::owned(const Digest& d) {
    return path_exists(owned_path(dir_, d));
}

void RepoStore::unmark_owned(const Digest& d) {
    ::unlink(owned_path(dir_, d).c_str());
}

}  // namespace berth::registry::server
