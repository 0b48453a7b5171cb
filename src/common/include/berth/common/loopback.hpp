#pragma once
// The loopback device of the calling thread's network namespace. A new network namespace has
// lo down; runc, crun and libnetwork bring it up for a container's own namespace (127.0.0.1 is
// there only then). An ioctl, not netlink: one flag on one device needs no more.

#include "berth/common/result.hpp"

namespace berth {

/// Sets IFF_UP on "lo" in the calling thread's network namespace (nothing if it is up).
[[nodiscard]] Result<void> bring_up_loopback();

}  // namespace berth
