// Kernel routes to another host need the host to forward packets
// (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding). The proxy never turns
// them on itself (that is the host's policy); it refuses rules that could
// not work, with the sysctl to set, instead of installing them silently.
#pragma once

#include "nftables/rule_plan.hpp"

namespace basalt::proxy {

// Throws std::runtime_error naming the route, its destination and the
// sysctl when a destination is not an address of this host and forwarding
// for its family is off.
void check_forwarding(const RulePlan& plan);

}  // namespace basalt::proxy
