#pragma once
// Registration of the route groups. The backends are borrowed and must outlive the router.

#include "berth/api/server/backend.hpp"
#include "berth/api/server/container_backend.hpp"
#include "berth/api/server/router.hpp"

namespace berth::api {

/// GET|HEAD /_ping (needs no backend).
void register_ping_routes(Router& router);

/// /version, /info, /system/df, /events, POST /berth/system/check.
void register_system_routes(Router& router, SystemBackend& backend);

/// /images/json, /images/{name}/json|history|tag|get, DELETE /images/{name}, /images/prune,
/// /images/create (pull with fromImage, import with fromSrc), /images/{name}/push, POST /auth,
/// /images/get, /images/load.
void register_image_routes(Router& router, ImageBackend& backend);

/// /containers/... (create, lifecycle, wait, list, inspect, attach, logs, stats, archive, ...)
/// and /exec/... (moby's container router).
void register_container_routes(Router& router, ContainerBackend& backend);

}  // namespace berth::api
