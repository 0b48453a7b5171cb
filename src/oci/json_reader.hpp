#pragma once
// The JSON reader and writer helpers of the oci module's parsers (runtime-spec config.json and
// the image-spec documents): private to src/oci.
//
// Reading follows Go's encoding/json: unknown members are ignored, `null` means absent, and
// numbers must be integers that fit the field's type. A failed field throws FieldError inside a
// parser; parse_document() catches it (and every nlohmann exception) and returns a Result whose
// message names the JSON path, so no exception leaves the module. The readers see a document
// through Value, whichever of the two parsers (parse_document's Parser) read it.

#include <algorithm>
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
#include <rapidjson/document.h>

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

[[noreturn]] inline void fail(const Path& path, std::string what,
                              Errc code = Errc::InvalidArgument) {
    throw FieldError{path.str(), std::move(what), code};
}

/// A value of a parsed document, RapidJSON's or nlohmann's (see parse_document()), with what the
/// readers below ask of it.
class Value {
public:
    Value(const json& j) noexcept : n_(&j) {}               // NOLINT(google-explicit-constructor)
    Value(const rapidjson::Value& r) noexcept : r_(&r) {}  // NOLINT(google-explicit-constructor)

    bool is_null() const noexcept { return r_ ? r_->IsNull() : n_->is_null(); }
    bool is_object() const noexcept { return r_ ? r_->IsObject() : n_->is_object(); }
    bool is_array() const noexcept { return r_ ? r_->IsArray() : n_->is_array(); }
    bool is_string() const noexcept { return r_ ? r_->IsString() : n_->is_string(); }
    bool is_boolean() const noexcept { return r_ ? r_->IsBool() : n_->is_boolean(); }
    /// An integer >= 0 (that fits 64 bits).
    bool is_unsigned() const noexcept { return r_ ? r_->IsUint64() : n_->is_number_unsigned(); }
    /// An integer < 0 (that fits 64 bits).
    bool is_negative() const noexcept {
        return r_ ? r_->IsInt64() && !r_->IsUint64()
                  : n_->is_number_integer() && !n_->is_number_unsigned();
    }
    uint64_t get_unsigned() const noexcept { return r_ ? r_->GetUint64() : n_->get<uint64_t>(); }
    int64_t get_negative() const noexcept { return r_ ? r_->GetInt64() : n_->get<int64_t>(); }
    bool get_boolean() const noexcept { return r_ ? r_->GetBool() : n_->get<bool>(); }
    std::string_view get_string() const noexcept {
        if (r_) return {r_->GetString(), r_->GetStringLength()};
        return n_->get_ref<const std::string&>();
    }

    size_t size() const noexcept { return r_ ? r_->Size() : n_->size(); }
    Value at(size_t i) const noexcept {
        if (r_) return Value((*r_)[static_cast<rapidjson::SizeType>(i)]);
        return Value((*n_)[i]);
    }
    /// The member `key` of an object; of several with that name the last, as Go's
    /// encoding/json (and nlohmann's std::map) keep it.
    std::optional<Value> find(std::string_view key) const noexcept {
        if (n_) {
            auto it = n_->find(key);
            if (it == n_->end()) return std::nullopt;
            return Value(*it);
        }
        const rapidjson::Value* found = nullptr;
        for (auto m = r_->MemberBegin(); m != r_->MemberEnd(); ++m)
            if (std::string_view(m->name.GetString(), m->name.GetStringLength()) == key)
                found = &m->value;
        if (!found) return std::nullopt;
        return Value(*found);
    }
    /// `f(key, value)` for each member of an object, in the document's order (nlohmann's:
    /// sorted and without duplicates).
    template <class F>
    void for_each_member(F f) const {
        if (n_) {
            for (auto it = n_->begin(); it != n_->end(); ++it) f(std::string_view(it.key()), Value(it.value()));
            return;
        }
        for (auto m = r_->MemberBegin(); m != r_->MemberEnd(); ++m)
            f(std::string_view(m->name.GetString(), m->name.GetStringLength()), Value(m->value));
    }

    /// What it is, for "got ..." in messages: numbers by value (their type was fine, their
    /// value was not), everything else by JSON type name (nlohmann's names).
    std::string describe() const {
        if (n_) return n_->is_number() ? n_->dump() : n_->type_name();
        if (r_->IsUint64()) return std::to_string(r_->GetUint64());
        if (r_->IsInt64()) return std::to_string(r_->GetInt64());
        if (r_->IsNumber()) return json(r_->GetDouble()).dump();
        if (r_->IsNull()) return "null";
        if (r_->IsBool()) return "boolean";
        if (r_->IsString()) return "string";
        if (r_->IsArray()) return "array";
        return "object";
    }

    /// nlohmann's value itself: only for a document parsed by nlohmann alone.
    const json& nlohmann() const noexcept { return *n_; }

private:
    const json* n_ = nullptr;
    const rapidjson::Value* r_ = nullptr;
};

template <class T>
std::string integer_name() {
    constexpr int bits = std::numeric_limits<T>::digits + (std::is_signed_v<T> ? 1 : 0);
    return fmt::format("{} {}-bit integer", std::is_signed_v<T> ? "a signed" : "an unsigned", bits);
}

template <class T>
T to_integer(Value v, const Path& path) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    auto bad = [&]() {
        fail(path, fmt::format("expected {}, got {}", integer_name<T>(), v.describe()));
    };
    if (v.is_unsigned()) {
        uint64_t u = v.get_unsigned();
        if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) bad();
        return static_cast<T>(u);
    }
    if (v.is_negative()) {
        int64_t s = v.get_negative();
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

inline std::string to_string(Value v, const Path& path) {
    if (!v.is_string()) fail(path, "expected a string, got " + v.describe());
    return std::string(v.get_string());
}

inline bool to_bool(Value v, const Path& path) {
    if (!v.is_boolean()) fail(path, "expected a boolean, got " + v.describe());
    return v.get_boolean();
}

/// A JSON object at a known path, with typed accessors for its members. Absent and null
/// members leave the output untouched.
class Obj {
public:
    Obj(Value j, const Path& path) : j_(j), path_(path) {
        if (!j_.is_object()) fail(path_, "expected an object, got " + j_.describe());
    }

    const Path& path() const { return path_; }
    Value raw() const { return j_; }

    std::optional<Value> get(std::string_view key) const {
        auto v = j_.find(key);
        if (!v || v->is_null()) return std::nullopt;
        return v;
    }
    /// A member that must be there (and not null).
    Value need(std::string_view key) const {
        auto v = get(key);
        if (!v) fail(sub(key), "missing required field");
        return *v;
    }
    Path sub(std::string_view key) const { return Path(path_, key); }

    void str(std::string_view key, std::string& out) const {
        if (auto v = get(key)) out = to_string(*v, sub(key));
    }
    void need_str(std::string_view key, std::string& out) const {
        out = to_string(need(key), sub(key));
    }
    void boolean(std::string_view key, bool& out) const {
        if (auto v = get(key)) out = to_bool(*v, sub(key));
    }
    void boolean(std::string_view key, std::optional<bool>& out) const {
        if (auto v = get(key)) out = to_bool(*v, sub(key));
    }
    template <class T>
    void integer(std::string_view key, T& out) const {
        if (auto v = get(key)) out = to_integer<T>(*v, sub(key));
    }
    template <class T>
    void integer(std::string_view key, std::optional<T>& out) const {
        if (auto v = get(key)) out = to_integer<T>(*v, sub(key));
    }

    /// Array member; `each(element, element_path)` converts one element.
    template <class T, class F>
    void array(std::string_view key, std::vector<T>& out, F each) const {
        auto v = get(key);
        if (!v) return;
        Path p = sub(key);
        if (!v->is_array()) fail(p, "expected an array, got " + v->describe());
        out.clear();
        const size_t n = v->size();
        out.reserve(n);
        for (size_t i = 0; i < n; ++i) out.push_back(each(v->at(i), Path(p, i)));
    }
    void strings(std::string_view key, std::vector<std::string>& out) const {
        array(key, out, [](Value e, const Path& p) { return to_string(e, p); });
    }
    template <class T>
    void integers(std::string_view key, std::vector<T>& out) const {
        array(key, out, [](Value e, const Path& p) { return to_integer<T>(e, p); });
    }

    /// Object member with arbitrary keys; `each(value, value_path)` converts one value.
    template <class T, class F>
    void map(std::string_view key, std::map<std::string, T>& out, F each) const {
        auto v = get(key);
        if (!v) return;
        Path p = sub(key);
        if (!v->is_object()) fail(p, "expected an object, got " + v->describe());
        out.clear();
        v->for_each_member([&](std::string_view k, Value e) {
            out.insert_or_assign(std::string(k), each(e, Path(p, k)));  // the last of a name wins
        });
    }
    void string_map(std::string_view key, std::map<std::string, std::string>& out) const {
        map(key, out, [](Value e, const Path& p) { return to_string(e, p); });
    }
    /// Go's map[string]struct{}: the keys of an object whose values are objects, sorted, each
    /// once.
    void key_set(std::string_view key, std::vector<std::string>& out) const {
        auto v = get(key);
        if (!v) return;
        Path p = sub(key);
        if (!v->is_object()) fail(p, "expected an object, got " + v->describe());
        out.clear();
        v->for_each_member([&](std::string_view k, Value e) {
            if (!e.is_object() && !e.is_null())
                fail(Path(p, k), "expected an object, got " + e.describe());
            out.emplace_back(k);
        });
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }

    /// Nested object member into an optional; `fill(Obj, T&)` reads its members.
    template <class T, class F>
    void object(std::string_view key, std::optional<T>& out, F fill) const {
        auto v = get(key);
        if (!v) return;
        Obj o(*v, sub(key));
        T t{};
        fill(o, t);
        out = std::move(t);
    }
    /// Nested object member into a plain struct (kept as is when absent).
    template <class T, class F>
    void object(std::string_view key, T& out, F fill) const {
        auto v = get(key);
        if (!v) return;
        Obj o(*v, sub(key));
        fill(o, out);
    }

private:
    Value j_;
    Path path_;
};

/// Array elements that are objects: wraps `fill(Obj, T&)` as an Obj::array element converter.
template <class T, class F>
auto objects(F fill) {
    return [fill](Value e, const Path& p) {
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

/// Which parser parse_document() reads a document with.
enum class Parser {
    /// nlohmann's (it keeps the document, which the image documents' unmodelled members need).
    Nlohmann,
    /// RapidJSON's first, in place in a copy of the text: a third of the time, where it counts
    /// (every container start parses its config.json, ~10 KB with Docker's seccomp profile,
    /// while the container waits). Whatever it refuses, or a reader refuses in it, is read
    /// again by nlohmann's, whose words (and positions) the messages are in.
    RapidJsonFirst,
};

namespace rapid {

/// What parse_document() asks of RapidJSON: strict RFC 8259 (no comments, trailing commas,
/// NaN), valid UTF-8, no recursion (a deep document cannot overflow the stack).
constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

template <class T, class F>
std::optional<T> parse(std::string_view text, F& read) {
    // In place, strings point into this buffer, which must end with a NUL; a NUL inside the
    // text would end it early: such a text goes to nlohmann, as all of them did before.
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    std::string buf(text);
    rapidjson::Document doc;
    doc.ParseInsitu<kFlags>(buf.data());
    if (doc.HasParseError()) return std::nullopt;
    try {
        Obj top(Value(static_cast<const rapidjson::Value&>(doc)), Path{});
        T out{};
        read(top, out);
        return out;
    } catch (const FieldError&) {
        return std::nullopt;
    }
}

}  // namespace rapid

/// Parses `text` and runs `read` over the top-level object, turning every failure into an error
/// that starts with `origin` (InvalidArgument, or the category a FieldError carries).
template <class T, class F>
Result<T> parse_document(std::string_view text, std::string_view origin, F read,
                         Parser parser = Parser::Nlohmann) {
    if (parser == Parser::RapidJsonFirst)
        if (auto fast = rapid::parse<T>(text, read)) return std::move(*fast);
    try {
        json doc = json::parse(text.begin(), text.end());
        Obj top(doc, Path{});
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
