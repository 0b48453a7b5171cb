#include "berth/api/server/filters.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace berth::api {

Result<Filters> Filters::parse(std::string_view json_text) {
    Filters f;
    if (json_text.empty()) return f;
    auto doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded())
        return make_error(Errc::InvalidArgument, "invalid filter: not valid JSON: {}", json_text);
    if (doc.is_null()) return f;
    if (!doc.is_object())
        return make_error(Errc::InvalidArgument, "invalid filter: expected a JSON object: {}",
                          json_text);
    for (const auto& [key, value] : doc.items()) {
        if (value.is_object()) {
            // {"label": {"a=b": true}}: the keys are the values (the Go CLI's encoding).
            for (const auto& [v, on] : value.items()) {
                if (!on.is_boolean())
                    return make_error(Errc::InvalidArgument,
                                      "invalid filter: value of {}.{} must be a boolean", key, v);
                if (on.get<bool>()) f.add(key, v);
            }
        } else if (value.is_array()) {
            // {"label": ["a=b"]}: docker-py and the pre-1.22 encoding.
            for (const auto& v : value) {
                if (!v.is_string())
                    return make_error(Errc::InvalidArgument,
                                      "invalid filter: values of {} must be strings", key);
                f.add(key, v.get<std::string>());
            }
        } else if (value.is_null()) {
            continue;
        } else {
            return make_error(Errc::InvalidArgument,
                              "invalid filter: {} must be an object or a list", key);
        }
    }
    return f;
}

void Filters::add(const std::string& key, const std::string& value) {
    auto& vals = args_[key];
    auto it = std::lower_bound(vals.begin(), vals.end(), value);
    if (it == vals.end() || *it != value) vals.insert(it, value);
}

bool Filters::contains(std::string_view key) const noexcept {
    return args_.find(key) != args_.end();
}

std::vector<std::string> Filters::get(std::string_view key) const {
    auto it = args_.find(key);
    return it == args_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> Filters::keys() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : args_) out.push_back(k);
    return out;
}

Result<void> Filters::validate(std::initializer_list<std::string_view> accepted) const {
    for (const auto& [k, v] : args_) {
        if (std::find(accepted.begin(), accepted.end(), k) == accepted.end())
            return make_error(Errc::InvalidArgument, "invalid filter '{}'", k);
    }
    return {};
}

bool Filters::exact_match(std::string_view key, std::string_view source) const {
    auto it = args_.find(key);
    if (it == args_.end() || it->second.empty()) return true;
    return std::find(it->second.begin(), it->second.end(), source) != it->second.end();
}

bool Filters::fuzzy_match(std::string_view key, std::string_view source) const {
    auto it = args_.find(key);
    if (it == args_.end() || it->second.empty()) return true;
    for (const auto& v : it->second)
        if (source.substr(0, v.size()) == v) return true;
    return false;
}

bool Filters::match_kv_list(std::string_view key,
                            const std::map<std::string, std::string>& labels) const {
    auto it = args_.find(key);
    if (it == args_.end() || it->second.empty()) return true;
    if (labels.empty()) return false;
    for (const auto& v : it->second) {
        size_t eq = v.find('=');
        auto l = labels.find(v.substr(0, eq));
        if (l == labels.end()) return false;
        if (eq != std::string::npos && l->second != v.substr(eq + 1)) return false;
    }
    return true;
}

Result<bool> Filters::get_bool(std::string_view key, bool& present) const {
    present = false;
    auto it = args_.find(key);
    if (it == args_.end() || it->second.empty()) return false;
    bool seen_true = false;
    bool seen_false = false;
    for (const auto& v : it->second) {
        std::string l = v;
        std::transform(l.begin(), l.end(), l.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (l == "true" || l == "1") {
            seen_true = true;
        } else if (l == "false" || l == "0") {
            seen_false = true;
        } else {
            return make_error(Errc::InvalidArgument, "invalid filter '{}={}'", key, v);
        }
    }
    if (seen_true && seen_false)
        return make_error(Errc::InvalidArgument, "invalid filter '{}': both true and false", key);
    present = true;
    return seen_true;
}

}  // namespace berth::api
