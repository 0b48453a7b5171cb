#pragma once
// `docker import --change` / `docker commit --change`: Dockerfile instructions applied to an
// image's container config, as moby's dockerfile.BuildFromConfig does.
//
// The changes are joined with newlines and read as a Dockerfile (comments, empty lines and
// backslash line continuations allowed). Only the instructions that change the config are
// accepted (moby's validCommitCommands): CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL,
// ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. Anything else is
// InvalidArgument "<instruction> is not a valid change command" (the instruction in lower case,
// as moby's parser reports it).
//
// Forms:
//   CMD/ENTRYPOINT ["a","b"]  exec form;  CMD a b   shell form -> ["/bin/sh","-c","a b"]
//   ENV/LABEL k=v k2="v 2"   or the legacy single pair  ENV k some value
//   EXPOSE 80 443/tcp 7000-7002/udp
//   HEALTHCHECK [--interval=30s --timeout=5s --start-period=0s --start-interval=0s
//               --retries=3] CMD ...   |   HEALTHCHECK NONE
//   VOLUME ["/a","/b"]  or  VOLUME /a /b
// Arguments of ENV, LABEL, EXPOSE, STOPSIGNAL, USER, VOLUME (shell form) and WORKDIR go through
// the Dockerfile word rules: quotes removed, '\' escapes, $VAR / ${VAR} / ${VAR:-x} / ${VAR:+x}
// expanded from the config's Env (as set so far). CMD/ENTRYPOINT shell forms are kept verbatim.
//
// Errors are InvalidArgument and name the instruction: "ENV: ENV must have two arguments",
// "EXPOSE: invalid containerPort: abc", "STOPSIGNAL: Invalid signal: FOO".

#include <string>
#include <vector>

#include "berth/common/result.hpp"
#include "berth/oci/image_spec.hpp"

namespace berth::image {

/// Applies `changes` in order to `config`. On error `config` may be partly changed; callers
/// pass a copy they drop on failure.
[[nodiscard]] Result<void> apply_changes(const std::vector<std::string>& changes,
                                         oci::ContainerConfig& config);

}  // namespace berth::image
