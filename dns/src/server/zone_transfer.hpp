// Outgoing full zone transfer (AXFR, RFC 5936): the zone as a sequence of
// TCP messages, starting and ending with the SOA, made one message at a time
// as the connection can take them (a client that does not read holds one
// message, not the zone). Refused for clients outside the transfer ACL;
// NOTAUTH for a name that is not one of our zone apexes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "basalt/dns/server/query_state.hpp"
#include "basalt/dns/zone/zone_set.hpp"

namespace basalt::dns {

class TransferStream {
 public:
  static constexpr std::size_t kMessageLimit = 16384;  // like Knot: small enough to interleave

  // For the AXFR (or IXFR, which we answer with a full transfer) that
  // Responder::respond() parsed into `query` and returned kTransfer for. The
  // stream holds the zone: it may be replaced in the server meanwhile.
  TransferStream(const QueryState& query, const ZoneSet& zones, bool allowed);

  // Writes the next message (unframed) into `out`, which holds at least
  // kMessageLimit octets, and returns its size; 0 when the transfer is done.
  // A refusal or error is one message.
  std::size_t next(std::span<std::uint8_t> out);

  // Whether the transfer sends the zone (false: refused or NOTAUTH).
  bool sends_zone() const noexcept { return rcode_ == 0; }

 private:
  std::size_t single(std::span<std::uint8_t> out, std::uint16_t rcode);

  std::uint16_t id_;
  Question question_;
  std::uint16_t rcode_ = 0;  // answered with this one message when not 0
  std::shared_ptr<const Zone> zone_;
  std::vector<std::pair<const Name*, const RRset*>> rrsets_;  // into zone_; the SOA again at the end
  std::size_t set_ = 0, rdata_ = 0;                           // the next record
  bool done_ = false;
};

}  // namespace basalt::dns
