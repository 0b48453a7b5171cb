#pragma once
// config.json <-> oci::Spec. nlohmann's exceptions stop here: every error is a Result whose
// message names the JSON path of the offending field and what was wrong with it, e.g.
//   "config.json: process.user.uid: expected an unsigned 32-bit integer, got string"
//   "config.json: malformed JSON at line 3, column 7: ..."

#include <string>
#include <string_view>

#include "berth/common/result.hpp"
#include "berth/oci/spec.hpp"

namespace berth::oci {

/// Parses a config.json document. `origin` prefixes errors ("config.json"). Unknown fields are
/// ignored (the spec allows extensions) and null counts as absent, as in Go. A process without
/// "cwd" gets an empty cwd, which validate() rejects (as runc does). InvalidArgument on any
/// type error.
[[nodiscard]] Result<Spec> parse_spec(std::string_view json, std::string_view origin = "config.json");

/// Reads and parses <bundle>/config.json (errors start with that path). NotFound if it is
/// missing.
[[nodiscard]] Result<Spec> load_spec(const std::string& bundle);

/// Parses a linux.resources object (as `update --resources` takes, runc's format).
[[nodiscard]] Result<Resources> parse_resources(std::string_view json, std::string_view origin = "resources");

/// Parses a process object (as `exec --process` takes).
[[nodiscard]] Result<Process> parse_process(std::string_view json, std::string_view origin = "process.json");

/// Serialises a spec (the inverse of parse_spec; absent optionals are omitted). Pretty-printed
/// with tabs if `pretty`, like `runc spec` (byte for byte for default_spec()).
[[nodiscard]] std::string to_json(const Spec& spec, bool pretty = false);
[[nodiscard]] std::string to_json(const Process& p, bool pretty = false);
[[nodiscard]] std::string to_json(const Resources& r, bool pretty = false);

/// The runtime-spec State object, as given to hooks on stdin.
[[nodiscard]] std::string to_json(const State& st);

/// `runc spec`'s default config (busybox-friendly: args ["sh"], terminal true, Docker's
/// default capabilities, the usual /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys mounts,
/// maskedPaths and readonlyPaths). With `rootless`, runc's rootless variant (user namespace with
/// the caller's uid/gid mapped to 0, no network namespace, bind-mounted /sys).
[[nodiscard]] Spec default_spec(bool rootless = false, uint32_t uid = 0, uint32_t gid = 0);

}  // namespace berth::oci
