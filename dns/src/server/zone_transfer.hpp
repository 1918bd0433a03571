// Outgoing full zone transfer (AXFR, RFC 5936): the zone as a sequence of
// TCP messages, starting and ending with the SOA. Refused for clients outside
// the transfer ACL; NOTAUTH for a name that is not one of our zone apexes.
#pragma once

#include <cstdint>
#include <vector>

#include "basalt/dns/server/query_state.hpp"
#include "basalt/dns/zone/zone_set.hpp"

namespace basalt::dns {

// The response messages, unframed, to the AXFR (or IXFR, which we answer
// with a full transfer) that Responder::respond() parsed into `query` (and
// returned kTransfer for). One message when refused or in error.
std::vector<std::vector<std::uint8_t>> build_transfer(const QueryState& query, const ZoneSet& zones,
                                                      bool allowed);

}  // namespace basalt::dns
