// One query from receive to send. A listener (UDP, TCP, DoH, manual) fills
// in where the message came from; Responder::respond() parses the message
// once and records here what the rest of the path needs: the header flags,
// the question, EDNS, the size limit, and then what the answer turned out to
// be (rcode, truncation, the TTLs a DoH cache may keep it for). When handlers
// must be asked, the same object carries the query to them and back to
// Responder::complete(); observers (QueryEvent) and zone transfer read it
// too, so no step parses the message again.
//
// A plain value owned by the listener: reuse one per socket or connection
// (reset() keeps the handler vector's capacity), or move it into the
// coroutine that waits for handlers. Nothing in it points into the received
// bytes, so the receive buffer may be reused as soon as respond() returns.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/dns/server/query.hpp"
#include "basalt/dns/server/server_cookies.hpp"
#include "basalt/dns/wire/rr_type.hpp"
#include "basalt/dns/wire/wire_error.hpp"

namespace basalt::dns {

struct HandlerEntry;
struct ServerData;
class Zone;
struct ZoneNode;

struct QueryState {
  // --- Set by the listener (reset()).
  std::optional<core::Endpoint> client;  // the peer; absent in manual mode
  // When the query arrived; set by the worker when an observer is installed.
  std::chrono::steady_clock::time_point received{};

  // --- Set by Responder::respond() from its one parse of the message.
  // The question exactly as received (DNS 0x20 case), the transport, and
  // DO; what handlers see. `query.client` is filled in only for handlers.
  Query query;
  WireError parse_error = WireError::kOk;
  bool has_question = false;  // the message parsed and had a question
  std::uint16_t id = 0;
  Opcode opcode = Opcode::kQuery;
  bool rd = false, cd = false;
  bool edns = false;
  // The query carried a server cookie this server made and still accepts
  // (RFC 7873 §5.2.4): its source address cannot be spoofed, so response
  // rate limiting leaves it alone.
  bool valid_server_cookie = false;
  CookieCheck cookie_check = CookieCheck::kNone;
  // The answer's COOKIE option (the client cookie and our server cookie,
  // RFC 7873 §5.2); cookie_size 0: none (no cookie asked, cookies off, or
  // no client address to make one for).
  std::array<std::uint8_t, 24> cookie{};
  std::uint8_t cookie_size = 0;
  std::size_t limit = 512;  // the largest answer the client takes

  // --- The answer, set when it is written.
  Rcode rcode = Rcode::kNoError;
  bool truncated = false;
  bool from_handlers = false;
  // The smallest TTL written to the answer and authority sections (none: no record).
  std::optional<std::uint32_t> answer_ttl, authority_ttl;

  // --- While handlers are asked (Responder::Status::kNeedsHandlers).
  bool name_exists = false;                // for the NODATA/NXDOMAIN choice
  std::shared_ptr<const ServerData> data;  // keeps the zone alive while handlers run
  const Zone* zone = nullptr;              // null: outside every zone (fallback handler only)
  const ZoneNode* node = nullptr;          // the zone data at the name, if any (exact match only)
  std::vector<const HandlerEntry*> handlers;

  // Readies the state for the next message from `from` over `transport`.
  void reset(Transport transport, std::optional<core::Endpoint> from) noexcept {
    client = from;
    received = {};
    query.transport = transport;
    data.reset();
    handlers.clear();
  }

  // RFC 8484 §5.1 Cache-Control max-age: the smallest TTL in the answer
  // section, else in the authority section, else 0.
  std::uint32_t max_age() const noexcept { return answer_ttl.value_or(authority_ttl.value_or(0)); }
};

}  // namespace basalt::dns
