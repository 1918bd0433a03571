// Reads the nameservers of a resolv.conf (resolv.conf(5)): `nameserver ADDR`
// lines, in order, at most three as the C library uses. Other keywords and
// comments (`#`, `;`) are ignored; a malformed address line is skipped.
// Pure function of its text; never throws.
#pragma once

#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"

namespace basalt::dns::client_detail {

std::vector<core::IpAddress> parse_resolv_conf(std::string_view text);

}  // namespace basalt::dns::client_detail
