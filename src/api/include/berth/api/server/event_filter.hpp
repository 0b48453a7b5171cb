#pragma once
// moby's events filter (daemon/events/filter.go): which events a /events client wants.

#include "berth/api/server/filters.hpp"
#include "berth/api/types/events.hpp"
#include "berth/common/result.hpp"

namespace berth::api {

/// Errors: InvalidArgument "invalid filter '<key>'" for keys /events does not know.
[[nodiscard]] Result<void> validate_event_filters(const Filters& f);

/// True if `m` passes every filter: type, event (an action; "exec_start" also matches
/// "exec_start: sh"), container / network / volume (ID prefix or name), image (ID or name, with
/// or without tag), label (on the actor's attributes), scope, daemon.
bool event_matches(const Filters& f, const types::EventMessage& m);

}  // namespace berth::api
