#include "hooks.hpp"

#include "berth/common/process.hpp"

namespace berth::runtime {

Result<void> run_hooks(const std::vector<oci::Hook>& hooks, std::string_view kind,
                       const std::string& state_json) {
    for (size_t i = 0; i < hooks.size(); ++i) {
        const oci::Hook& h = hooks[i];
        Command c;
        c.path = h.path;
        c.args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
        c.env = h.env;  // the spec's env, even if empty: hooks don't inherit ours
        c.stdin_data = state_json;
        if (h.timeout && *h.timeout > 0) c.timeout = std::chrono::seconds(*h.timeout);
        auto r = run_command(c);
        if (!r) return Unexpected(std::move(r).error().wrap("{} hook #{} ({})", kind, i, h.path));
        if (!r->status.ok()) {
            if (r->status.signal)
                return make_error(Errc::Internal, "{} hook #{} ({}): killed by signal {}", kind, i,
                                  h.path, r->status.signal);
            return make_error(Errc::Internal, "{} hook #{} ({}): exited with status {}", kind, i,
                              h.path, r->status.code);
        }
    }
    return {};
}

}  // namespace berth::runtime
