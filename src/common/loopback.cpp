#include "berth/common/loopback.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "berth/common/unique_fd.hpp"

namespace berth {

Result<void> bring_up_loopback() {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s) return BERTH_SYS_ERROR("open a socket to bring the loopback up");
    struct ifreq ifr {};
    std::memcpy(ifr.ifr_name, "lo", 3);
    if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return BERTH_SYS_ERROR("read the loopback's flags");
    if (ifr.ifr_flags & IFF_UP) return {};
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return BERTH_SYS_ERROR("bring the loopback up");
    return {};
}

}  // namespace berth
