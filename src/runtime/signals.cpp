#include <signal.h>
#include <string.h>

#include <string>

#include "berth/common/strings.hpp"
#include "berth/runtime/runtime.hpp"

namespace berth::runtime {

Result<int> parse_signal(const std::string& s) {
    if (auto n = parse_int(s)) {
        if (*n > 0 && *n < NSIG) return static_cast<int>(*n);
        return make_error(Errc::InvalidArgument, "unknown signal \"{}\"", s);
    }
    std::string name = s;
    for (auto& ch : name) ch = static_cast<char>(::toupper(static_cast<unsigned char>(ch)));
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
        bool min = name[2] == 'M' && name[3] == 'I';
        int base = min ? SIGRTMIN : SIGRTMAX;
        std::string rest = name.substr(5);
        if (rest.empty()) return base;
        // "+3" (from_chars takes no leading '+') or "-1".
        auto off = parse_int(rest[0] == '+' ? rest.substr(1) : rest);
        if (off && rest[0] == '+' && *off < 0) off.reset();  // "+-1"
        if (off && ((min && *off > 0) || (!min && *off < 0))) {
            int v = base + static_cast<int>(*off);
            if (v >= SIGRTMIN && v <= SIGRTMAX) return v;
        }
        return make_error(Errc::InvalidArgument, "unknown signal \"{}\"", s);
    }
    for (int sig = 1; sig < SIGRTMIN; ++sig) {
        const char* abbrev = ::sigabbrev_np(sig);
        if (abbrev && name == abbrev) return sig;
    }
    if (name == "IOT") return SIGABRT;
    if (name == "POLL") return SIGIO;
    return make_error(Errc::InvalidArgument, "unknown signal \"{}\"", s);
}

}  // namespace berth::runtime
