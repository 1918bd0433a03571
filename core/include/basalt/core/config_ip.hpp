// Config codecs for addresses: lets config structs hold IpAddress, Cidr and
// Endpoint members directly, with errors in the config shape:
//   listen[1]: "127.0.0.1:70000" has no valid port (1-65535)
//
// Endpoints in configs need a real port (1-65535; library users may bind
// port 0 directly); Cidrs reject host bits (10.0.0.1/8) as a likely typo.
#pragma once

#include "basalt/core/config.hpp"
#include "basalt/core/ip.hpp"

namespace basalt::core::config {

template <>
struct Codec<IpAddress> {
  static void decode(const Node& n, IpAddress& out) {
    if (!n.value().is_string()) n.fail("is not an IP address (a string such as \"127.0.0.1\" or \"::1\")");
    std::string error;
    auto v = IpAddress::parse(n.value().get_string(), &error);
    if (!v) n.fail(error);
    out = *v;
  }
};

template <>
struct Codec<Cidr> {
  static void decode(const Node& n, Cidr& out) {
    if (!n.value().is_string()) n.fail("is not an address range (a string such as \"10.0.0.0/8\")");
    std::string error;
    auto v = Cidr::parse(n.value().get_string(), &error);
    if (!v) n.fail(error);
    out = *v;
  }
};

template <>
struct Codec<Endpoint> {
  static void decode(const Node& n, Endpoint& out) {
    if (!n.value().is_string()) n.fail("is not an address with a port (a string such as \"127.0.0.1:53\")");
    std::string error;
    auto v = Endpoint::parse(n.value().get_string(), &error);
    if (!v) n.fail(error);
    out = *v;
  }
};

}  // namespace basalt::core::config
