#pragma once
// OCI runtime-spec config.json documents for tests, built with nlohmann::json.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace berth::test {

/// The config.json that `runc spec` writes (runc 1.1), except that process.terminal is false.
/// root.path is "rootfs" (relative to the bundle), root.readonly is true, the namespaces are pid,
/// network, ipc, uts and mount, and the capabilities are CAP_AUDIT_WRITE, CAP_KILL and
/// CAP_NET_BIND_SERVICE.
nlohmann::json runc_default_spec();

/// A hook entry {"path": ..., "args": [...], "env": [...], "timeout": ...} (timeout 0: none).
nlohmann::json make_hook(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {}, int timeout = 0);

/// A bind mount entry with the given options (e.g. {"rbind", "ro"}).
nlohmann::json bind_mount(const std::string& source, const std::string& destination,
                          std::vector<std::string> options = {"rbind"});

/// Adds a namespace {"type": type[, "path": path]} to linux.namespaces, replacing an entry of the
/// same type.
void set_namespace(nlohmann::json& spec, const std::string& type, const std::string& path = {});
/// Removes the namespace of that type from linux.namespaces.
void remove_namespace(nlohmann::json& spec, const std::string& type);
/// Sets all five capability sets (bounding, effective, permitted, inheritable, ambient) to `caps`.
void set_all_caps(nlohmann::json& spec, const std::vector<std::string>& caps);

}  // namespace berth::test
