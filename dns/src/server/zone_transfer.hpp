// Outgoing full zone transfer (AXFR, RFC 5936): the zone as a sequence of
// TCP messages, starting and ending with the SOA. Refused for clients outside
// the transfer ACL; NOTAUTH for a name that is not one of our zone apexes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "basalt/dns/zone/zone_set.hpp"

namespace basalt::dns {

// True if `query` asks for AXFR (or IXFR, which we answer with a full transfer).
bool is_transfer_request(std::span<const std::uint8_t> query) noexcept;

// The response messages, unframed. One message when refused or in error.
std::vector<std::vector<std::uint8_t>> build_transfer(std::span<const std::uint8_t> query,
                                                      const ZoneSet& zones, bool allowed);

}  // namespace basalt::dns
