#pragma once
// Docker image references as the docker CLI handles them before it sends a request
// (distribution/reference's ParseNormalizedNamed and FamiliarName), kept here because
// cmd/berth may use only api and common.

#include <string>
#include <string_view>

#include "berth/common/result.hpp"

namespace berth::cli::format {

/// A parsed, normalized reference: name is "docker.io/library/busybox"; tag and digest may be
/// empty.
struct Reference {
    std::string name;
    std::string tag;
    std::string digest;

    /// FamiliarName: "busybox", "user/app", "localhost:5000/app".
    [[nodiscard]] std::string familiar_name() const;
    /// The familiar form with tag and digest: "busybox:latest".
    [[nodiscard]] std::string familiar_string() const;
};

/// ParseNormalizedNamed: validates and normalizes `s`. InvalidArgument with docker's wording
/// ("invalid reference format", "... must be lowercase") when it isn't a reference.
[[nodiscard]] Result<Reference> parse_normalized_named(std::string_view s);

/// Shortens "docker.io/library/x" to "x" and "docker.io/u/x" to "u/x".
std::string familiarize_name(std::string_view normalized_name);

}  // namespace berth::cli::format
