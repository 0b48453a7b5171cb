#pragma once
// The JSON reader and writer helpers of the oci module's parsers (runtime-spec config.json and
// the image-spec documents): private to src/oci.
//
// Reading follows Go's encoding/json: unknown members are ignored, `null` means absent, and
// numbers must be integers that fit the field's type. A failed field throws FieldError inside a
// parser; parse_document() catches it (and every nlohmann exception) and returns a Result whose
// message names the JSON path, so no exception leaves the module.

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "berth/common/result.hpp"
#include "json_path.hpp"

namespace berth::oci::detail {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

struct FieldError {
    std::string path;
    std::string what;
    Errc code = Errc::InvalidArgument;
};

[[noreturn]] inline void fail(std::string path, std::string what,
                              Errc code = Errc::InvalidArgument) {
    throw FieldError{std::move(path), std::move(what), code};
}

/// What a value is, for "got ..." in messages: numbers by value (their type was fine, their
/// value was not), everything else by JSON type name.
inline std::string describe(const json& v) {
    if (v.is_number()) return v.dump();
    return v.type_name();
}

template <class T>
std::string integer_name() {
    constexpr int bits = std::numeric_limits<T>::digits + (std::is_signed_v<T> ? 1 : 0);
    return fmt::format("{} {}-bit integer", std::is_signed_v<T> ? "a signed" : "an unsigned", bits);
}

template <class T>
T to_integer(const json& v, const std::string& path) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    auto bad = [&]() {
        fail(path, fmt::format("expected {}, got {}", integer_name<T>(), describe(v)));
    };
    if (v.is_number_unsigned()) {
        uint64_t u = v.get<uint64_t>();
        if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) bad();
        return static_cast<T>(u);
    }
    if (v.is_number_integer()) {  // negative
        int64_t s = v.get<int64_t>();
        if constexpr (std::is_unsigned_v<T>) {
            bad();
        } else {
            if (s < static_cast<int64_t>(std::numeric_limits<T>::min())) bad();
        }
        return static_cast<T>(s);
    }
    bad();
    return T{};
}

inline std::string to_string(const json& v, const std::string& path) {
    if (!v.is_string()) fail(path, "expected a string, got " + describe(v));
    return v.get<std::string>();
}

inline bool to_bool(const json& v, const std::string& path) {
    if (!v.is_boolean()) fail(path, "expected a boolean, got " + describe(v));
    return v.get<bool>();
}

/// A JSON object at a known path, with typed accessors for its members. Absent and null
/// members leave the output untouched.
class Obj {
public:
    Obj(const json& j, std::string path) : j_(j), path_(std::move(path)) {
        if (!j_.is_object()) fail(path_, "expected an object, got " + describe(j_));
    }

    const std::string& path() const { return path_; }
    const json& raw() const { return j_; }

    const json* get(std::string_view key) const {
        auto it = j_.find(key);
        if (it == j_.end() || it->is_null()) return nullptr;
        return &*it;
    }
    /// A member that must be there (and not null).
    const json& need(std::string_view key) const {
        const json* v = get(key);
        if (!v) fail(sub(key), "missing required field");
        return *v;
    }
    std::string sub(std::string_view key) const { return path_key(path_, key); }

    void str(std::string_view key, std::string& out) const {
        if (auto* v = get(key)) out = to_string(*v, sub(key));
    }
    void need_str(std::string_view key, std::string& out) const {
        out = to_string(need(key), sub(key));
    }
    void boolean(std::string_view key, bool& out) const {
        if (auto* v = get(key)) out = to_bool(*v, sub(key));
    }
    void boolean(std::string_view key, std::optional<bool>& out) const {
        if (auto* v = get(key)) out = to_bool(*v, sub(key));
    }
    template <class T>
    void integer(std::string_view key, T& out) const {
        if (auto* v = get(key)) out = to_integer<T>(*v, sub(key));
    }
    template <class T>
    void integer(std::string_view key, std::optional<T>& out) const {
        if (auto* v = get(key)) out = to_integer<T>(*v, sub(key));
    }

    /// Array member; `each(element, element_path)` converts one element.
    template <class T, class F>
    void array(std::string_view key, std::vector<T>& out, F each) const {
        const json* v = get(key);
        if (!v) return;
        std::string p = sub(key);
        if (!v->is_array()) fail(p, "expected an array, got " + describe(*v));
        out.clear();
        out.reserve(v->size());
        for (size_t i = 0; i < v->size(); ++i) out.push_back(each((*v)[i], path_index(p, i)));
    }
    void strings(std::string_view key, std::vector<std::string>& out) const {
        array(key, out, [](const json& e, const std::string& p) { return to_string(e, p); });
    }
    template <class T>
    void integers(std::string_view key, std::vector<T>& out) const {
        array(key, out, [](const json& e, const std::string& p) { return to_integer<T>(e, p); });
    }

    /// Object member with arbitrary keys; `each(value, value_path)` converts one value.
    template <class T, class F>
    void map(std::string_view key, std::map<std::string, T>& out, F each) const {
        const json* v = get(key);
        if (!v) return;
        std::string p = sub(key);
        if (!v->is_object()) fail(p, "expected an object, got " + describe(*v));
        out.clear();
        for (auto it = v->begin(); it != v->end(); ++it)
            out.emplace(it.key(), each(it.value(), path_key(p, it.key())));
    }
    void string_map(std::string_view key, std::map<std::string, std::string>& out) const {
        map(key, out, [](const json& e, const std::string& p) { return to_string(e, p); });
    }
    /// Go's map[string]struct{}: the keys of an object whose values are objects.
    void key_set(std::string_view key, std::vector<std::string>& out) const {
        const json* v = get(key);
        if (!v) return;
        std::string p = sub(key);
        if (!v->is_object()) fail(p, "expected an object, got " + describe(*v));
        out.clear();
        for (auto it = v->begin(); it != v->end(); ++it) {
            if (!it.value().is_object() && !it.value().is_null())
                fail(path_key(p, it.key()), "expected an object, got " + describe(it.value()));
            out.push_back(it.key());
        }
    }

    /// Nested object member into an optional; `fill(Obj, T&)` reads its members.
    template <class T, class F>
    void object(std::string_view key, std::optional<T>& out, F fill) const {
        const json* v = get(key);
        if (!v) return;
        Obj o(*v, sub(key));
        T t{};
        fill(o, t);
        out = std::move(t);
    }
    /// Nested object member into a plain struct (kept as is when absent).
    template <class T, class F>
    void object(std::string_view key, T& out, F fill) const {
        const json* v = get(key);
        if (!v) return;
        Obj o(*v, sub(key));
        fill(o, out);
    }

private:
    const json& j_;
    std::string path_;
};

/// Array elements that are objects: wraps `fill(Obj, T&)` as an Obj::array element converter.
template <class T, class F>
auto objects(F fill) {
    return [fill](const json& e, const std::string& p) {
        Obj o(e, p);
        T t{};
        fill(o, t);
        return t;
    };
}

// ---- documents ----------------------------------------------------------------------------

/// 1-based line and column of the character at 0-based `index` (index == size: end of input).
inline std::pair<size_t, size_t> line_column(std::string_view text, size_t index) {
    if (index > text.size()) index = text.size();
    size_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < index; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return {line, index - line_start + 1};
}

/// nlohmann's exception text without its "[json.exception.<kind>.<id>] " prefix.
inline std::string without_exception_id(const std::string& what) {
    size_t bracket = what.rfind("] ", what.find(' '));
    if (what.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos)
        return what.substr(bracket + 2);
    return what;
}

/// nlohmann's parse_error text without its "[json.exception...] parse error at ...: " prefix
/// (we compute the position ourselves).
inline std::string parser_message(const std::string& what) {
    std::string rest = without_exception_id(what);
    if (rest.rfind("parse error", 0) == 0) {
        size_t colon = rest.find(": ");
        if (colon != std::string::npos) return rest.substr(colon + 2);
    }
    return rest;
}

/// Parses `text` and runs `read` over the top-level object, turning every failure into an error
/// that starts with `origin` (InvalidArgument, or the category a FieldError carries).
template <class T, class F>
Result<T> parse_document(std::string_view text, std::string_view origin, F read) {
    try {
        json doc = json::parse(text.begin(), text.end());
        Obj top(doc, "");
        T out{};
        read(top, out);
        return out;
    } catch (const json::parse_error& e) {
        size_t index = e.byte > 0 ? e.byte - 1 : 0;
        auto [line, column] = line_column(text, index);
        return make_error(Errc::InvalidArgument, "{}: malformed JSON at line {}, column {}: {}",
                          origin, line, column, parser_message(e.what()));
    } catch (const FieldError& e) {
        return Unexpected(Error{e.code, 0, field_message(origin, e.path, e.what)});
    } catch (const json::out_of_range& e) {
        // The parser throws this (not parse_error) for a number too large even for a double.
        return make_error(Errc::InvalidArgument, "{}: malformed JSON: {}", origin,
                          without_exception_id(e.what()));
    } catch (const json::exception& e) {
        // Not expected (every access is type-checked first), but nlohmann must not escape.
        return make_error(Errc::InvalidArgument, "{}: {}", origin, without_exception_id(e.what()));
    }
}

// ---- writing ------------------------------------------------------------------------------

inline void put_str(ojson& o, const char* key, const std::string& v) {
    if (!v.empty()) o[key] = v;
}

inline void put_strs(ojson& o, const char* key, const std::vector<std::string>& v) {
    if (!v.empty()) o[key] = v;
}

template <class T>
void put_opt(ojson& o, const char* key, const std::optional<T>& v) {
    if (v) o[key] = *v;
}

template <class T, class F>
void put_array(ojson& o, const char* key, const std::vector<T>& v, F conv) {
    if (v.empty()) return;
    ojson a = ojson::array();
    for (const auto& e : v) a.push_back(conv(e));
    o[key] = std::move(a);
}

inline void put_map(ojson& o, const char* key, const std::map<std::string, std::string>& m) {
    if (m.empty()) return;
    ojson obj = ojson::object();
    for (const auto& [k, v] : m) obj[k] = v;
    o[key] = std::move(obj);
}

}  // namespace berth::oci::detail
