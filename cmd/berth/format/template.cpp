// The Go text/template subset: a lexer and recursive-descent parser into a small tree, and an
// evaluator over nlohmann::json. Only what docker users write in --format is covered.

#include "template.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace berth::cli::format {

namespace detail {

// One argument or operand of a command.
struct Operand;
struct Pipeline;

struct Operand {
    enum class Kind { Dot, Field, Variable, Function, String, Number, Bool, Nil, Pipe } kind;
    std::string name;                // function or variable name ("$" for the root)
    std::vector<std::string> chain;  // field names after the operand (".A.B")
    nlohmann::json literal;
    std::shared_ptr<Pipeline> pipe;  // Kind::Pipe: "(...)"
    int pos = 0;                     // offset in the text, for messages
    std::string text;                // as written, for "at <...>"
};

struct Command {
    std::vector<Operand> args;
    int pos = 0;
    std::string text;  // the operands as written, for "at <...>"
};

struct Pipeline {
    std::vector<std::string> decl;  // variables declared with :=
    std::vector<Command> cmds;
    int pos = 0;
};

struct Node {
    enum class Kind { List, Text, Action, If, Range, With } kind = Kind::List;
    std::string text;
    std::shared_ptr<Pipeline> pipe;
    std::vector<std::shared_ptr<Node>> list;       // List: children; If/Range/With: body
    std::shared_ptr<Node> else_list;               // may be null
    int pos = 0;
};

}  // namespace detail

using detail::Command;
using detail::Node;
using detail::Operand;
using detail::Pipeline;
using json = nlohmann::json;

namespace {

// Line (1-based) and byte in the line (0-based, as Go's ErrorContext counts) of an offset, for
// messages in Go's "template: :L:C:" form.
std::pair<int, int> line_col(std::string_view text, int pos) {
    int line = 1, col = 0;
    for (int i = 0; i < pos && i < static_cast<int>(text.size()); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 0;
        } else {
            ++col;
        }
    }
    return {line, col};
}

// ---------------------------------------------------------------------------------------------
// Lexing of one action's inside.

struct Token {
    enum class Kind { Field, Variable, Ident, String, Number, Pipe, LParen, RParen, Declare,
                      Assign, Comma, Dot, End } kind;
    std::string text;
    int pos = 0;
};

bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    Result<std::shared_ptr<Node>> parse() {
        size_t i = 0;
        auto root = std::make_shared<Node>();
        // Each open block: the node and whether we are in its else branch.
        struct Open {
            Node* node;
            bool in_else;
        };
        std::vector<Open> open;
        auto current = [&]() -> std::vector<std::shared_ptr<Node>>& {
            if (open.empty()) return root->list;
            Open& o = open.back();
            if (o.in_else) return o.node->else_list->list;
            return o.node->list;
        };
        while (i <= text_.size()) {
            size_t start = text_.find("{{", i);
            std::string_view chunk = text_.substr(i, start == std::string_view::npos ? text_.npos : start - i);
            bool trim_left = start != std::string_view::npos && start + 3 < text_.size() + 1 &&
                             text_.substr(start).size() >= 4 && text_[start + 2] == '-' &&
                             std::isspace(static_cast<unsigned char>(text_[start + 3]));
            std::string piece(chunk);
            if (trim_left) {
                while (!piece.empty() && std::isspace(static_cast<unsigned char>(piece.back())))
                    piece.pop_back();
            }
            if (trim_next_) {
                size_t k = 0;
                while (k < piece.size() && std::isspace(static_cast<unsigned char>(piece[k]))) ++k;
                piece.erase(0, k);
                trim_next_ = false;
            }
            if (!piece.empty()) {
                auto n = std::make_shared<Node>();
                n->kind = Node::Kind::Text;
                n->text = std::move(piece);
                current().push_back(n);
            }
            if (start == std::string_view::npos) break;
            size_t inner = start + 2 + (trim_left ? 2 : 0);
            // Find the closing delimiter outside string literals.
            size_t j = inner;
            char quote = 0;
            size_t close = std::string_view::npos;
            while (j + 1 < text_.size() + 1 && j < text_.size()) {
                char c = text_[j];
                if (quote) {
                    if (c == '\\' && quote == '"') {
                        j += 2;
                        continue;
                    }
                    if (c == quote) quote = 0;
                } else if (c == '"' || c == '`' || c == '\'') {
                    quote = c;
                } else if (c == '}' && j + 1 < text_.size() && text_[j + 1] == '}') {
                    close = j;
                    break;
                }
                ++j;
            }
            if (close == std::string_view::npos)
                return fail(static_cast<int>(start), quote ? "unterminated quoted string" : "unclosed action");
            size_t inner_end = close;
            bool trim_right = close >= inner + 2 && text_[close - 1] == '-' &&
                              std::isspace(static_cast<unsigned char>(text_[close - 2]));
            if (trim_right) inner_end = close - 1;
            i = close + 2;
            trim_next_ = trim_right;
            std::string_view body = text_.substr(inner, inner_end - inner);
            std::string_view trimmed = trim_sv(body);
            if (trimmed.size() >= 4 && trimmed.substr(0, 2) == "/*") {
                if (trimmed.substr(trimmed.size() - 2) != "*/")
                    return fail(static_cast<int>(inner), "unclosed comment");
                continue;
            }
            auto toks = BERTH_TRY(lex(body, static_cast<int>(inner)));
            if (toks.size() == 1 && toks[0].kind == Token::Kind::End)
                return fail(static_cast<int>(inner), "missing value for command");
            size_t p = 0;
            const Token& first = toks[0];
            if (first.kind == Token::Kind::Ident &&
                (first.text == "if" || first.text == "range" || first.text == "with")) {
                auto n = std::make_shared<Node>();
                n->kind = first.text == "if"      ? Node::Kind::If
                          : first.text == "range" ? Node::Kind::Range
                                                  : Node::Kind::With;
                n->pos = first.pos;
                p = 1;
                size_t mark = vars_.size();
                n->pipe = BERTH_TRY(parse_pipeline(toks, p, n->kind == Node::Kind::Range));
                if (toks[p].kind != Token::Kind::End)
                    return fail(toks[p].pos, fmt::format("unexpected \"{}\" in {}", toks[p].text, first.text));
                current().push_back(n);
                open.push_back({n.get(), false});
                var_marks_.push_back(mark);
                continue;
            }
            if (first.kind == Token::Kind::Ident && first.text == "else") {
                if (open.empty()) return fail(first.pos, "unexpected {{else}}");
                Open& o = open.back();
                if (o.in_else) return fail(first.pos, "expected end; found {{else}}");
                o.node->else_list = std::make_shared<Node>();
                o.in_else = true;
                if (toks[1].kind == Token::Kind::Ident &&
                    (toks[1].text == "if" || toks[1].text == "with")) {
                    // "else if": a nested if inside the else list that the same {{end}} closes.
                    auto n = std::make_shared<Node>();
                    n->kind = toks[1].text == "if" ? Node::Kind::If : Node::Kind::With;
                    n->pos = toks[1].pos;
                    p = 2;
                    size_t mark = vars_.size();
                    n->pipe = BERTH_TRY(parse_pipeline(toks, p, false));
                    if (toks[p].kind != Token::Kind::End)
                        return fail(toks[p].pos, fmt::format("unexpected \"{}\" in else", toks[p].text));
                    o.node->else_list->list.push_back(n);
                    open.push_back({n.get(), false});
                var_marks_.push_back(mark);
                    chained_marks_.push_back(open.size());
                    continue;
                }
                if (toks[1].kind != Token::Kind::End)
                    return fail(toks[1].pos, fmt::format("unexpected \"{}\" in else", toks[1].text));
                continue;
            }
            if (first.kind == Token::Kind::Ident && first.text == "end") {
                if (open.empty()) return fail(first.pos, "unexpected {{end}}");
                if (toks[1].kind != Token::Kind::End)
                    return fail(toks[1].pos, fmt::format("unexpected \"{}\" in end", toks[1].text));
                // Close the block and every "else if" chained onto it.
                while (!chained_marks_.empty() && chained_marks_.back() == open.size()) {
                    chained_marks_.pop_back();
                    open.pop_back();
                    vars_.resize(var_marks_.back());
                    var_marks_.pop_back();
                }
                open.pop_back();
                vars_.resize(var_marks_.back());
                var_marks_.pop_back();
                continue;
            }
            auto n = std::make_shared<Node>();
            n->kind = Node::Kind::Action;
            n->pos = first.pos;
            n->pipe = BERTH_TRY(parse_pipeline(toks, p, false));
            if (toks[p].kind != Token::Kind::End)
                return fail(toks[p].pos, fmt::format("unexpected \"{}\" in operand", toks[p].text));
            current().push_back(n);
        }
        if (!open.empty()) return fail(static_cast<int>(text_.size()), "unexpected EOF");
        return root;
    }

private:
    static std::string_view trim_sv(std::string_view s) {
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
        return s;
    }

    Unexpected fail(int pos, std::string_view what) const {
        auto [line, col] = line_col(text_, pos);
        (void)col;
        return make_error(Errc::InvalidArgument, "template: :{}: {}", line, what);
    }

    Result<std::vector<Token>> lex(std::string_view s, int base) {
        std::vector<Token> out;
        size_t i = 0;
        while (i < s.size()) {
            char c = s[i];
            int pos = base + static_cast<int>(i);
            if (std::isspace(static_cast<unsigned char>(c))) {
                ++i;
                continue;
            }
            if (c == '|') {
                out.push_back({Token::Kind::Pipe, "|", pos});
                ++i;
            } else if (c == '(') {
                out.push_back({Token::Kind::LParen, "(", pos});
                ++i;
            } else if (c == ')') {
                out.push_back({Token::Kind::RParen, ")", pos});
                ++i;
            } else if (c == ',') {
                out.push_back({Token::Kind::Comma, ",", pos});
                ++i;
            } else if (c == ':' && i + 1 < s.size() && s[i + 1] == '=') {
                out.push_back({Token::Kind::Declare, ":=", pos});
                i += 2;
            } else if (c == '=') {
                out.push_back({Token::Kind::Assign, "=", pos});
                ++i;
            } else if (c == '"' || c == '`') {
                size_t j = i + 1;
                std::string val;
                bool closed = false;
                while (j < s.size()) {
                    if (s[j] == c) {
                        closed = true;
                        break;
                    }
                    if (c == '"' && s[j] == '\\' && j + 1 < s.size()) {
                        char e = s[j + 1];
                        switch (e) {
                            case 'n': val += '\n'; break;
                            case 't': val += '\t'; break;
                            case 'r': val += '\r'; break;
                            case '\\': val += '\\'; break;
                            case '"': val += '"'; break;
                            default:
                                return fail(base + static_cast<int>(j),
                                            fmt::format("invalid syntax: unknown escape \\{}", e));
                        }
                        j += 2;
                        continue;
                    }
                    val += s[j++];
                }
                if (!closed) return fail(pos, "unterminated quoted string");
                out.push_back({Token::Kind::String, val, pos});
                i = j + 1;
            } else if (c == '\'') {
                if (i + 2 < s.size() && s[i + 2] == '\'') {
                    out.push_back({Token::Kind::Number, std::to_string(static_cast<int>(s[i + 1])), pos});
                    i += 3;
                } else {
                    return fail(pos, "unterminated character constant");
                }
            } else if (c == '.') {
                if (i + 1 < s.size() && is_ident_char(s[i + 1]) &&
                    !std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
                    // A whole chain ".A.B.C" is one token: ".A .B" are two operands.
                    size_t j = i;
                    while (j < s.size() && s[j] == '.' && j + 1 < s.size() && is_ident_char(s[j + 1])) {
                        ++j;
                        while (j < s.size() && is_ident_char(s[j])) ++j;
                    }
                    out.push_back({Token::Kind::Field, std::string(s.substr(i + 1, j - i - 1)), pos});
                    i = j;
                } else if (i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
                    size_t j = i + 1;
                    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])))) ++j;
                    out.push_back({Token::Kind::Number, std::string(s.substr(i, j - i)), pos});
                    i = j;
                } else {
                    out.push_back({Token::Kind::Dot, ".", pos});
                    ++i;
                }
            } else if (c == '$') {
                size_t j = i + 1;
                while (j < s.size() && is_ident_char(s[j])) ++j;
                while (j < s.size() && s[j] == '.' && j + 1 < s.size() && is_ident_char(s[j + 1])) {
                    ++j;
                    while (j < s.size() && is_ident_char(s[j])) ++j;
                }
                out.push_back({Token::Kind::Variable, std::string(s.substr(i, j - i)), pos});
                i = j;
            } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
                size_t j = i + 1;
                while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' ||
                                        s[j] == '_'))
                    ++j;
                out.push_back({Token::Kind::Number, std::string(s.substr(i, j - i)), pos});
                i = j;
            } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
                size_t j = i;
                while (j < s.size() && is_ident_char(s[j])) ++j;
                out.push_back({Token::Kind::Ident, std::string(s.substr(i, j - i)), pos});
                i = j;
            } else {
                return fail(pos, fmt::format("unexpected \"{}\" in command", c));
            }
        }
        out.push_back({Token::Kind::End, "", base + static_cast<int>(s.size())});
        return out;
    }

    Result<std::shared_ptr<Pipeline>> parse_pipeline(const std::vector<Token>& t, size_t& p, bool allow_two) {
        auto pipe = std::make_shared<Pipeline>();
        pipe->pos = t[p].pos;
        // Declarations: "$x :=" or "$i, $v :=" (the latter only in range).
        if (t[p].kind == Token::Kind::Variable) {
            size_t q = p;
            std::vector<std::string> names{t[q].text};
            ++q;
            if (allow_two && t[q].kind == Token::Kind::Comma && t[q + 1].kind == Token::Kind::Variable) {
                names.push_back(t[q + 1].text);
                q += 2;
            }
            if (t[q].kind == Token::Kind::Declare || t[q].kind == Token::Kind::Assign) {
                pipe->decl = names;
                p = q + 1;
                for (const auto& n : names) vars_.push_back(n);
            }
        }
        while (true) {
            Command cmd;
            cmd.pos = t[p].pos;
            while (t[p].kind != Token::Kind::End && t[p].kind != Token::Kind::Pipe &&
                   t[p].kind != Token::Kind::RParen) {
                cmd.args.push_back(BERTH_TRY(parse_operand(t, p)));
            }
            if (cmd.args.empty()) return fail(t[p].pos, "missing value for command");
            for (const auto& a : cmd.args) cmd.text += (cmd.text.empty() ? "" : " ") + a.text;
            pipe->cmds.push_back(std::move(cmd));
            if (t[p].kind != Token::Kind::Pipe) break;
            ++p;
        }
        return pipe;
    }

    Result<Operand> parse_operand(const std::vector<Token>& t, size_t& p) {
        const Token& tok = t[p];
        Operand op;
        op.pos = tok.pos;
        op.text = tok.text;
        switch (tok.kind) {
            case Token::Kind::Dot:
                op.kind = Operand::Kind::Dot;
                ++p;
                break;
            case Token::Kind::Field:
                op.kind = Operand::Kind::Field;
                op.chain = split_chain(tok.text);
                op.text = "." + tok.text;
                ++p;
                break;
            case Token::Kind::Variable: {
                op.kind = Operand::Kind::Variable;
                auto dot = tok.text.find('.');
                op.name = tok.text.substr(0, dot);
                if (dot != std::string::npos) op.chain = split_chain(tok.text.substr(dot + 1));
                if (std::find(vars_.begin(), vars_.end(), op.name) == vars_.end())
                    return fail(tok.pos, fmt::format("undefined variable \"{}\"", op.name));
                ++p;
                break;
            }
            case Token::Kind::String:
                op.kind = Operand::Kind::String;
                op.literal = tok.text;
                op.text = "\"" + tok.text + "\"";
                ++p;
                break;
            case Token::Kind::Number: {
                op.kind = Operand::Kind::Number;
                std::string s = tok.text;
                try {
                    size_t used = 0;
                    if (s.find_first_of(".eE") == std::string::npos ||
                        s.rfind("0x", 0) == 0) {
                        long long v = std::stoll(s, &used, 0);
                        op.literal = v;
                    } else {
                        double v = std::stod(s, &used);
                        op.literal = v;
                    }
                    if (used != s.size()) throw std::invalid_argument(s);
                } catch (const std::exception&) {
                    return fail(tok.pos, fmt::format("bad number syntax: \"{}\"", s));
                }
                ++p;
                break;
            }
            case Token::Kind::Ident:
                if (tok.text == "true" || tok.text == "false") {
                    op.kind = Operand::Kind::Bool;
                    op.literal = tok.text == "true";
                } else if (tok.text == "nil") {
                    op.kind = Operand::Kind::Nil;
                } else if (is_function(tok.text)) {
                    op.kind = Operand::Kind::Function;
                    op.name = tok.text;
                } else {
                    return fail(tok.pos, fmt::format("function \"{}\" not defined", tok.text));
                }
                ++p;
                break;
            case Token::Kind::LParen: {
                ++p;
                op.kind = Operand::Kind::Pipe;
                op.pipe = BERTH_TRY(parse_pipeline(t, p, false));
                if (t[p].kind != Token::Kind::RParen) return fail(t[p].pos, "unclosed left paren");
                ++p;
                op.text = "(...)";
                break;
            }
            default:
                return fail(tok.pos, fmt::format("unexpected \"{}\" in operand", tok.text));
        }
        // A field chain right after a parenthesised pipeline: "(index .X 0).Name".
        if (op.kind == Operand::Kind::Pipe && t[p].kind == Token::Kind::Field &&
            t[p].pos == t[p - 1].pos + 1) {
            op.chain = split_chain(t[p].text);
            ++p;
        }
        return op;
    }

    static std::vector<std::string> split_chain(const std::string& s) {
        std::vector<std::string> out;
        size_t start = 0;
        while (true) {
            size_t k = s.find('.', start);
            out.push_back(s.substr(start, k == std::string::npos ? std::string::npos : k - start));
            if (k == std::string::npos) break;
            start = k + 1;
        }
        return out;
    }

    static bool is_function(std::string_view n) {
        static const char* const kNames[] = {"json", "join", "split", "index", "len", "upper",
                                             "lower", "title", "truncate", "pad", "print",
                                             "printf", "println", "not", "and", "or", "eq", "ne",
                                             "lt", "le", "gt", "ge", "slice"};
        return std::find(std::begin(kNames), std::end(kNames), n) != std::end(kNames);
    }

    std::string_view text_;
    bool trim_next_ = false;
    std::vector<size_t> chained_marks_;
    std::vector<std::string> vars_{"$"};  // variables in scope, for "undefined variable"
    std::vector<size_t> var_marks_;       // vars_ size at each open block
};

// ---------------------------------------------------------------------------------------------
// Evaluation.

bool truthy(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return false;
        case json::value_t::boolean: return v.get<bool>();
        case json::value_t::string: return !v.get_ref<const std::string&>().empty();
        case json::value_t::array:
        case json::value_t::object: return !v.empty();
        case json::value_t::number_integer: return v.get<int64_t>() != 0;
        case json::value_t::number_unsigned: return v.get<uint64_t>() != 0;
        case json::value_t::number_float: return v.get<double>() != 0;
        default: return true;
    }
}

// Go's "%v" for a float64: strconv.FormatFloat(f, 'g', -1, 64), exponent form at >= 1e21.
std::string go_float(double d) {
    if (d == static_cast<double>(static_cast<int64_t>(d)) && std::abs(d) < 1e21)
        return fmt::format("{}", static_cast<int64_t>(d));
    std::string s = fmt::format("{}", d);
    auto e = s.find('e');
    if (e != std::string::npos) {
        // fmt gives "1e+21" / "1e-05"; Go writes at least two exponent digits too.
        std::string mant = s.substr(0, e), exp = s.substr(e + 1);
        char sign = '+';
        if (!exp.empty() && (exp[0] == '+' || exp[0] == '-')) {
            sign = exp[0];
            exp = exp.substr(1);
        }
        if (exp.size() < 2) exp = "0" + exp;
        s = mant + "e" + sign + exp;
    }
    return s;
}

void print_into(const json& v, std::string& out, bool nested) {
    switch (v.type()) {
        case json::value_t::null: out += nested ? "<nil>" : "<no value>"; break;
        case json::value_t::string: out += v.get_ref<const std::string&>(); break;
        case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
        case json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); break;
        case json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); break;
        case json::value_t::number_float: out += go_float(v.get<double>()); break;
        case json::value_t::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v) {
                if (!first) out += ' ';
                first = false;
                print_into(e, out, true);
            }
            out += ']';
            break;
        }
        case json::value_t::object: {
            out += "map[";
            bool first = true;
            for (const auto& [k, e] : v.items()) {  // nlohmann::json keeps keys sorted
                if (!first) out += ' ';
                first = false;
                out += k;
                out += ':';
                print_into(e, out, true);
            }
            out += ']';
            break;
        }
        default: out += v.dump(); break;
    }
}

std::string type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "interface {}";
        case json::value_t::string: return "string";
        case json::value_t::boolean: return "bool";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "int";
        case json::value_t::number_float: return "float64";
        case json::value_t::array: return "[]interface {}";
        case json::value_t::object: return "map[string]interface {}";
        default: return "?";
    }
}

struct EvalError {
    int pos;
    std::string at;
    std::string msg;
};

class Evaluator {
public:
    Evaluator(std::string_view text, std::string& out, bool strict_root, std::string_view root_type,
              bool header)
        : text_(text), out_(out), strict_root_(strict_root), root_type_(root_type), header_(header) {}

    Result<void> run(const Node& root, const json& dot) {
        root_ = &dot;
        vars_.push_back({"$", dot});
        if (auto r = walk(root, dot); !r) {
            auto [line, col] = line_col(text_, r.error().pos);
            return make_error(Errc::InvalidArgument, "template: :{}:{}: executing \"\" at <{}>: {}",
                              line, col, r.error().at, r.error().msg);
        }
        return {};
    }

private:
    using R = tl::expected<void, EvalError>;
    using V = tl::expected<json, EvalError>;

    R walk(const Node& n, const json& dot) {
        switch (n.kind) {
            case Node::Kind::List:
                for (const auto& c : n.list) {
                    R r = walk(*c, dot);
                    if (!r) return r;
                }
                return {};
            case Node::Kind::Text: out_ += n.text; return {};
            case Node::Kind::Action: {
                V v = pipeline(*n.pipe, dot);
                if (!v) return tl::unexpected(v.error());
                if (n.pipe->decl.empty()) print_into(*v, out_, false);
                return {};
            }
            case Node::Kind::If:
            case Node::Kind::With: {
                size_t mark = vars_.size();
                V v = pipeline(*n.pipe, dot);
                if (!v) return tl::unexpected(v.error());
                R r;
                if (truthy(*v)) {
                    r = walk_list(n, n.kind == Node::Kind::With ? *v : dot);
                } else if (n.else_list) {
                    r = walk(*n.else_list, dot);
                }
                vars_.resize(mark);
                return r;
            }
            case Node::Kind::Range: {
                size_t mark = vars_.size();
                // Evaluate without declaring: range declares per element.
                Pipeline p = *n.pipe;
                std::vector<std::string> decl = p.decl;
                p.decl.clear();
                V v = pipeline(p, dot);
                if (!v) return tl::unexpected(v.error());
                R r;
                auto each = [&](const json& key, const json& elem) -> R {
                    vars_.resize(mark);
                    if (decl.size() == 1) vars_.push_back({decl[0], elem});
                    if (decl.size() == 2) {
                        vars_.push_back({decl[0], key});
                        vars_.push_back({decl[1], elem});
                    }
                    return walk_list(n, elem);
                };
                if (v->is_array() && !v->empty()) {
                    for (size_t i = 0; i < v->size() && r; ++i) r = each(json(i), (*v)[i]);
                } else if (v->is_object() && !v->empty()) {
                    for (const auto& [k, e] : v->items()) {
                        r = each(json(k), e);
                        if (!r) break;
                    }
                } else if (v->is_null() || v->is_array() || v->is_object()) {
                    if (n.else_list) r = walk(*n.else_list, dot);
                } else if (v->is_number_integer()) {
                    for (int64_t i = 0; i < v->get<int64_t>() && r; ++i) r = each(json(i), json(i));
                } else {
                    return fail(n.pos, "range", fmt::format("range can't iterate over {}", go_print(*v)));
                }
                vars_.resize(mark);
                return r;
            }
        }
        return {};
    }

    R walk_list(const Node& n, const json& dot) {
        for (const auto& c : n.list) {
            R r = walk(*c, dot);
            if (!r) return r;
        }
        return {};
    }

    tl::unexpected<EvalError> fail(int pos, std::string at, std::string msg) {
        return tl::unexpected(EvalError{pos, std::move(at), std::move(msg)});
    }

    V pipeline(const Pipeline& p, const json& dot) {
        std::optional<json> last;
        for (const auto& c : p.cmds) {
            V v = command(c, dot, last);
            if (!v) return v;
            last = std::move(*v);
        }
        json result = last ? std::move(*last) : json();
        for (const auto& name : p.decl) vars_.push_back({name, result});
        return result;
    }

    V command(const Command& c, const json& dot, const std::optional<json>& piped) {
        const Operand& head = c.args[0];
        if (head.kind == Operand::Kind::Function) {
            std::vector<json> args;
            for (size_t i = 1; i < c.args.size(); ++i) {
                V a = operand(c.args[i], dot);
                if (!a) return a;
                args.push_back(std::move(*a));
            }
            if (piped) args.push_back(*piped);
            return call(head, args, c.text);
        }
        if (c.args.size() > 1 || piped)
            return fail(head.pos, head.text, fmt::format("can't give argument to non-function {}", head.text));
        return operand(head, dot);
    }

    V operand(const Operand& op, const json& dot) {
        json base;
        size_t chain_from = 0;
        switch (op.kind) {
            case Operand::Kind::Dot: return dot;
            case Operand::Kind::Field: return fields(dot, op, 0, &dot == root_ || is_root(dot));
            case Operand::Kind::Variable: {
                const json* found = nullptr;
                for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
                    if (it->first == op.name) {
                        found = &it->second;
                        break;
                    }
                }
                if (!found) return fail(op.pos, op.text, fmt::format("undefined variable: {}", op.name));
                return fields(*found, op, chain_from, op.name == "$");
            }
            case Operand::Kind::String:
            case Operand::Kind::Number:
            case Operand::Kind::Bool: return op.literal;
            case Operand::Kind::Nil: return json();
            case Operand::Kind::Function: return call(op, {}, op.name);
            case Operand::Kind::Pipe: {
                V v = pipeline(*op.pipe, dot);
                if (!v) return v;
                return fields(*v, op, 0, false);
            }
        }
        return base;
    }

    bool is_root(const json& v) const { return root_ && &v == root_; }

    V fields(const json& start, const Operand& op, size_t from, bool at_root) {
        json cur = start;
        bool missing = root_ && &start == root_ && start.is_null();  // Execute(w, nil)
        for (size_t i = from; i < op.chain.size(); ++i) {
            const std::string& f = op.chain[i];
            if (cur.is_object()) {
                auto it = cur.find(f);
                if (it == cur.end()) {
                    if (at_root && i == 0 && strict_root_) {
                        if (root_type_.empty())  // missingkey=error on a map (docker inspect)
                            return fail(op.pos, op.text, fmt::format("map has no entry for key \"{}\"", f));
                        return fail(op.pos, op.text,
                                    fmt::format("can't evaluate field {} in type {}", f, root_type_));
                    }
                    missing = true;
                    cur = json();
                } else {
                    json next = *it;
                    cur = std::move(next);
                }
            } else if (cur.is_null()) {
                // A missing entry yields "<no value>" down the chain; a present null is a nil
                // interface, and Go refuses to take its field.
                // docker inspect runs over typed structs first, where such a field is a nil map
                // and yields "<no value>": be lenient there.
                bool inspect_mode = strict_root_ && root_type_.empty();
                if (!missing && !inspect_mode)
                    return fail(op.pos, op.text, fmt::format("nil pointer evaluating interface {{}}.{}", f));
            } else {
                return fail(op.pos, op.text,
                            fmt::format("can't evaluate field {} in type {}", f, type_name(cur)));
            }
        }
        return cur;
    }

    V call(const Operand& fn_op, const std::vector<json>& args, const std::string& at) {
        Operand fn = fn_op;
        fn.name = at;  // errors name the whole command, as Go does: "at <index .X 5>"
        const std::string& n = fn_op.name;
        auto want = [&](size_t k) -> std::optional<EvalError> {
            if (args.size() != k)
                return EvalError{fn.pos, fn.name,
                                 fmt::format("wrong number of args for {}: want {} got {}", n, k, args.size())};
            return std::nullopt;
        };
        auto str = [&](const json& v) { return v.is_string() ? v.get<std::string>() : go_print(v); };
        if (header_ && (n == "json" || n == "join" || n == "split" || n == "upper" || n == "lower" ||
                        n == "title" || n == "truncate" || n == "pad")) {
            if (args.empty()) return json("");
            return args[0];
        }
        if (n == "json") {
            if (auto e = want(1)) return tl::unexpected(*e);
            // A docker row context marshals itself with json.Marshal, which escapes <, > and &.
            if (strict_root_ && !root_type_.empty() && root_ && args[0] == *root_)
                return json(go_json_html(args[0]));
            return json(go_json(args[0]));
        }
        if (n == "upper" || n == "lower" || n == "title") {
            if (auto e = want(1)) return tl::unexpected(*e);
            std::string s = str(args[0]);
            bool start = true;
            for (char& ch : s) {
                if (n == "upper") ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                else if (n == "lower") ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                else {
                    if (start && std::isalpha(static_cast<unsigned char>(ch)))
                        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
                    start = std::isspace(static_cast<unsigned char>(ch));
                }
            }
            return json(s);
        }
        if (n == "join") {
            if (auto e = want(2)) return tl::unexpected(*e);
            if (!args[0].is_array() && !args[0].is_null())
                return fail(fn.pos, fn.name, fmt::format("error calling join: wrong type for value; expected []string; got {}", type_name(args[0])));
            std::string s;
            bool first = true;
            if (args[0].is_array()) {
                for (const auto& e : args[0]) {
                    if (!first) s += str(args[1]);
                    first = false;
                    s += str(e);
                }
            }
            return json(s);
        }
        if (n == "split") {
            if (auto e = want(2)) return tl::unexpected(*e);
            std::string s = str(args[0]), sep = str(args[1]);
            json arr = json::array();
            if (sep.empty()) {
                for (char ch : s) arr.push_back(std::string(1, ch));
                return arr;
            }
            size_t pos = 0;
            while (true) {
                size_t k = s.find(sep, pos);
                arr.push_back(s.substr(pos, k == std::string::npos ? std::string::npos : k - pos));
                if (k == std::string::npos) break;
                pos = k + sep.size();
            }
            return arr;
        }
        if (n == "truncate") {
            if (auto e = want(2)) return tl::unexpected(*e);
            std::string s = str(args[0]);
            if (!args[1].is_number_integer()) return fail(fn.pos, fn.name, "error calling truncate: length is not an integer");
            auto len = static_cast<size_t>(std::max<int64_t>(0, args[1].get<int64_t>()));
            if (s.size() > len) s.resize(len);
            return json(s);
        }
        if (n == "pad") {
            if (auto e = want(3)) return tl::unexpected(*e);
            if (!args[1].is_number_integer() || !args[2].is_number_integer())
                return fail(fn.pos, fn.name, "error calling pad: padding is not an integer");
            std::string s = str(args[0]);
            return json(std::string(static_cast<size_t>(std::max<int64_t>(0, args[1].get<int64_t>())), ' ') + s +
                        std::string(static_cast<size_t>(std::max<int64_t>(0, args[2].get<int64_t>())), ' '));
        }
        if (n == "len") {
            if (auto e = want(1)) return tl::unexpected(*e);
            const json& v = args[0];
            if (v.is_string()) return json(v.get_ref<const std::string&>().size());
            if (v.is_array() || v.is_object()) return json(v.size());
            return fail(fn.pos, fn.name, fmt::format("error calling len: len of type {}", type_name(v)));
        }
        if (n == "index") {
            if (args.empty()) return fail(fn.pos, fn.name, "wrong number of args for index: want at least 1 got 0");
            json cur = args[0];
            for (size_t i = 1; i < args.size(); ++i) {
                const json& k = args[i];
                if (cur.is_array()) {
                    if (!k.is_number_integer())
                        return fail(fn.pos, fn.name, "error calling index: cannot index slice/array with type " + type_name(k));
                    int64_t idx = k.get<int64_t>();
                    if (idx < 0 || idx >= static_cast<int64_t>(cur.size()))
                        return fail(fn.pos, fn.name, fmt::format("error calling index: index out of range: {}", idx));
                    json next = cur[static_cast<size_t>(idx)];
                    cur = std::move(next);
                } else if (cur.is_object()) {
                    if (!k.is_string())
                        return fail(fn.pos, fn.name, "error calling index: value has type " + type_name(k) + "; should be string");
                    auto it = cur.find(k.get<std::string>());
                    json next = it == cur.end() ? json() : *it;
                    cur = std::move(next);
                } else if (cur.is_null()) {
                    return fail(fn.pos, fn.name, "error calling index: index of untyped nil");
                } else {
                    return fail(fn.pos, fn.name, "error calling index: can't index item of type " + type_name(cur));
                }
            }
            return cur;
        }
        if (n == "slice") {
            if (args.empty()) return fail(fn.pos, fn.name, "wrong number of args for slice: want at least 1 got 0");
            const json& v = args[0];
            auto idx = [&](size_t i, size_t dflt) -> int64_t {
                return i < args.size() && args[i].is_number_integer() ? args[i].get<int64_t>() : static_cast<int64_t>(dflt);
            };
            size_t size = v.is_string() ? v.get_ref<const std::string&>().size() : v.is_array() ? v.size() : 0;
            int64_t a = idx(1, 0), b = idx(2, size);
            if (a < 0 || b < a || b > static_cast<int64_t>(size))
                return fail(fn.pos, fn.name, fmt::format("error calling slice: index out of range: {}", b));
            if (v.is_string()) return json(v.get_ref<const std::string&>().substr(static_cast<size_t>(a), static_cast<size_t>(b - a)));
            if (v.is_array()) return json(std::vector<json>(v.begin() + a, v.begin() + b));
            return fail(fn.pos, fn.name, "error calling slice: can't slice item of type " + type_name(v));
        }
        if (n == "print" || n == "println") {
            std::string s;
            for (size_t i = 0; i < args.size(); ++i) {
                // Sprint adds a space between operands when neither is a string; Sprintln always.
                if (i > 0 && (n == "println" || (!args[i - 1].is_string() && !args[i].is_string()))) s += ' ';
                print_into(args[i], s, true);
            }
            if (n == "println") s += '\n';
            return json(s);
        }
        if (n == "printf") {
            if (args.empty()) return fail(fn.pos, fn.name, "wrong number of args for printf: want at least 1 got 0");
            std::string f = str(args[0]), s;
            size_t ai = 1;
            for (size_t i = 0; i < f.size(); ++i) {
                if (f[i] != '%' || i + 1 == f.size()) {
                    s += f[i];
                    continue;
                }
                char verb = f[++i];
                if (verb == '%') {
                    s += '%';
                    continue;
                }
                if (ai >= args.size()) {
                    s += fmt::format("%!{}(MISSING)", verb);
                    continue;
                }
                const json& a = args[ai++];
                if (verb == 'q') s += go_json(a.is_string() ? a : json(go_print(a)));
                else print_into(a, s, true);
            }
            return json(s);
        }
        if (n == "not") {
            if (auto e = want(1)) return tl::unexpected(*e);
            return json(!truthy(args[0]));
        }
        if (n == "and" || n == "or") {
            if (args.empty()) return fail(fn.pos, fn.name, fmt::format("wrong number of args for {}: want at least 1 got 0", n));
            for (const auto& a : args) {
                if (n == "and" && !truthy(a)) return a;
                if (n == "or" && truthy(a)) return a;
            }
            return args.back();
        }
        if (n == "eq" || n == "ne" || n == "lt" || n == "le" || n == "gt" || n == "ge") {
            if (args.size() < 2) return fail(fn.pos, fn.name, fmt::format("wrong number of args for {}: want 2 got {}", n, args.size()));
            if (n == "eq") {
                for (size_t i = 1; i < args.size(); ++i)
                    if (args[0] == args[i]) return json(true);
                return json(false);
            }
            if (n == "ne") return json(args[0] != args[1]);
            if ((args[0].is_number() && args[1].is_number()) || (args[0].is_string() && args[1].is_string())) {
                bool lt = args[0] < args[1], eq = args[0] == args[1];
                if (n == "lt") return json(lt);
                if (n == "le") return json(lt || eq);
                if (n == "gt") return json(!lt && !eq);
                return json(!lt);
            }
            return fail(fn.pos, fn.name, fmt::format("error calling {}: incompatible types for comparison", n));
        }
        return fail(fn.pos, fn.name, fmt::format("function \"{}\" not defined", n));
    }

    std::string_view text_;
    std::string& out_;
    bool strict_root_;
    std::string root_type_;
    bool header_;
    const json* root_ = nullptr;
    std::vector<std::pair<std::string, json>> vars_;
};

}  // namespace

Result<Template> Template::parse(std::string_view text) {
    Parser p(text);
    Template t;
    t.root_ = BERTH_TRY(p.parse());
    t.text_ = std::string(text);
    return t;
}

Result<void> Template::execute(const json& dot, std::string& out, bool strict_root,
                               std::string_view root_type) const {
    Evaluator ev(text_, out, strict_root, root_type, false);
    return ev.run(*root_, dot);
}

std::string Template::execute_header(const json& headers) const {
    std::string out;
    Evaluator ev(text_, out, false, "", true);
    (void)ev.run(*root_, headers);
    return out;
}

std::string go_print(const json& v) {
    std::string out;
    print_into(v, out, false);
    return out;
}

std::string go_json(const json& v) {
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string go_json_html(const json& v) {
    std::string s = go_json(v), out;
    for (char c : s) {
        // Only inside strings can these appear in JSON text.
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else out += c;
    }
    return out;
}

}  // namespace berth::cli::format
