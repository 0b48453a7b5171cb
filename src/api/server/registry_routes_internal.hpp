#pragma once
// The registry routes (registry_routes.cpp), private to the api module: image_routes.cpp
// hands POST /images/create?fromImage= to the pull handler and registers the others.

#include "berth/api/server/backend.hpp"
#include "berth/api/server/router.hpp"
#include "berth/common/result.hpp"

namespace berth::api::detail {

/// POST /images/create with fromImage (moby's postImagesCreate, pull branch).
[[nodiscard]] Result<void> post_images_create_pull(ImageBackend& b, Request& req,
                                                   ResponseWriter& rw);

/// Adds POST /images/{name}/push and POST /auth.
void register_registry_routes(Router& router, ImageBackend& backend);

}  // namespace berth::api::detail
