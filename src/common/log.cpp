#include "berth/common/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "berth/common/strings.hpp"

namespace berth::log {
namespace {

struct State {
    std::shared_ptr<spdlog::logger> logger;
    Format format = Format::Text;
    Level min = Level::Warn;
};

State& state() {
    static State s;
    return s;
}

spdlog::level::level_enum to_spd(Level l) noexcept {
    switch (l) {
        case Level::Debug: return spdlog::level::debug;
        case Level::Info: return spdlog::level::info;
        case Level::Warn: return spdlog::level::warn;
        case Level::Error: return spdlog::level::err;
    }
    return spdlog::level::err;
}

// logrus' names, which is what runc writes and containerd reads.
const char* level_name(Level l) noexcept {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warn: return "warning";
        case Level::Error: return "error";
    }
    return "error";
}

void set_pattern(spdlog::logger& lg, Format f) {
    // %v is the message (already JSON-escaped in JSON mode); the level is part of the message
    // so that its spelling matches logrus, not spdlog.
    if (f == Format::Json)
        lg.set_pattern("{%v,\"time\":\"%Y-%m-%dT%H:%M:%S.%fZ\"}", spdlog::pattern_time_type::utc);
    else
        lg.set_pattern("time=\"%Y-%m-%dT%H:%M:%SZ\" %v", spdlog::pattern_time_type::utc);
}

}  // namespace

bool init(std::string_view path, Format format, Level min_level) {
    State& s = state();
    s.format = format;
    s.min = min_level;
    bool ok = true;
    try {
        if (!path.empty()) {
            s.logger = std::make_shared<spdlog::logger>(
                "berth", std::make_shared<spdlog::sinks::basic_file_sink_mt>(std::string(path)));
        }
    } catch (const spdlog::spdlog_ex&) {
        ok = false;
        s.logger.reset();
    }
    if (!s.logger)
        s.logger = std::make_shared<spdlog::logger>("berth",
                                                    std::make_shared<spdlog::sinks::stderr_sink_mt>());
    set_pattern(*s.logger, format);
    s.logger->set_level(to_spd(min_level));
    s.logger->flush_on(spdlog::level::trace);
    return ok;
}

bool enabled(Level level) noexcept { return level >= state().min; }

void write(Level level, std::string_view msg) noexcept {
    State& s = state();
    try {
        if (!s.logger) init("", Format::Text, s.min);
        if (s.format == Format::Json)
            s.logger->log(to_spd(level), "\"level\":\"{}\",\"msg\":\"{}\"", level_name(level),
                          json_escape(msg));
        else
            // logrus' text format, as runc prints it: time="..." level=error msg="..."
            s.logger->log(to_spd(level), "level={} msg=\"{}\"", level_name(level), json_escape(msg));
    } catch (...) {
        // Logging must never take the program down.
    }
}

}  // namespace berth::log
