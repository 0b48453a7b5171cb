#pragma once
// The one place where the API meets the engine: SystemBackend and ImageBackend implemented over
// engine::Daemon, turning engine and image types into the Engine API's (moby's
// daemon/images/*.go answers). The routes never see the engine.

#include <memory>

#include "berth/api/server/backend.hpp"
#include "berth/api/server/container_backend.hpp"

namespace berth::engine {
class Daemon;
}

namespace berth::api {

struct EngineBackends {
    std::unique_ptr<SystemBackend> system;
    std::unique_ptr<ImageBackend> images;
    std::unique_ptr<ContainerBackend> containers;  ///< null until the engine implements it
};

/// Backends over `daemon` (borrowed; must outlive them). `server_version` goes into /version
/// and /info; `debug` into /info's Debug.
[[nodiscard]] EngineBackends make_engine_backends(engine::Daemon& daemon,
                                                  std::string server_version, bool debug);

}  // namespace berth::api
