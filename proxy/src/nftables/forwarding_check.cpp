#include "nftables/forwarding_check.hpp"

#include <ifaddrs.h>

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <stdexcept>

#include "basalt/core/ip.hpp"

namespace basalt::proxy {

namespace {

bool sysctl_on(const char* path) {
  std::ifstream in(path);
  int value = 0;
  return (in >> value) && value != 0;
}

std::set<std::string> local_addresses() {
  std::set<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (auto* a = list; a; a = a->ifa_next) {
    if (!a->ifa_addr) continue;
    const socklen_t len = a->ifa_addr->sa_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6) continue;
    if (auto ep = core::Endpoint::from_sockaddr(a->ifa_addr, len)) out.insert(ep->address.to_string());
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

void check_forwarding(const RulePlan& plan) {
  if (plan.destinations().empty()) return;
  const auto local = local_addresses();
  for (const auto& d : plan.destinations()) {
    auto address = core::IpAddress::parse(d.address);
    if (!address || local.contains(address->to_string())) continue;
    const bool v6 = address->is_v6();
    const char* sysctl = v6 ? "net.ipv6.conf.all.forwarding" : "net.ipv4.ip_forward";
    if (sysctl_on(v6 ? "/proc/sys/net/ipv6/conf/all/forwarding" : "/proc/sys/net/ipv4/ip_forward")) continue;
    throw std::runtime_error(
        fmt::format("route \"{}\" forwards to {} in the kernel, but {} is 0 on this host: set it to 1 "
                    "(sysctl -w {}=1) or the packets are dropped",
                    d.route, d.address, sysctl, sysctl));
  }
}

}  // namespace basalt::proxy
