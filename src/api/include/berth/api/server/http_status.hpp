#pragma once
// The ONE mapping from error categories to HTTP status codes (CONVENTIONS.md, api/).

#include "berth/common/result.hpp"

namespace berth::api {

/// NotFound 404, InvalidArgument 400, Conflict and AlreadyExists 409, PermissionDenied 403,
/// Unavailable 503, Unsupported 501 (moby's NotImplemented), Internal 500.
int http_status_for(Errc code) noexcept;

/// The reason phrase for a status ("Not Found"); "" for an unknown code.
const char* http_reason(int status) noexcept;

}  // namespace berth::api
