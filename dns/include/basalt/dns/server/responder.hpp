// The authoritative answering logic, independent of sockets: query bytes in,
// response bytes out.
//
// It answers the way Knot DNS and NSD do: AA set and RA clear; REFUSED
// outside our zones; referrals with glue below zone cuts; CNAMEs followed
// inside our own data; wildcards per RFC 4592; NXDOMAIN and NODATA with the
// zone's SOA in AUTHORITY (TTL per RFC 2308); ANY per RFC 8482; FORMERR,
// NOTIMP and BADVERS for what it cannot answer; DNS Cookies (RFC 7873,
// server_cookies.hpp) in every answer to a query that carries one, and
// BADCOOKIE over UDP when they are required; TC when a UDP answer does not
// fit; the question's case echoed exactly. Names the zone data does not
// answer go to the handlers (handler_table.hpp): a name some pattern matches
// but no handler answers for the type is NODATA; a name neither zone data nor
// any pattern covers is NXDOMAIN.
//
// With DO set, answers from a zone that has a ZoneSigner are signed (see
// docs/dns.md, "DNSSEC"): every RRset gets its RRSIGs, wildcard answers the
// NSEC that proves the name itself does not exist, and NXDOMAIN/NODATA carry
// NSEC records: from the zone's precomputed chain (nsec_chain.hpp) for names
// no handler can reach, else "white lies" (RFC 4470) made for the query — for
// names handlers answer or not. DNSKEY, CDS and CDNSKEY come from the signer's keys.
//
// Sources of answers, in order: RFC 6761 localhost names (switchable), zone
// data, handlers. The message is parsed once, into a QueryState
// (query_state.hpp) that carries the query on from there. When handlers must
// be asked, respond() returns kNeedsHandlers: the caller fills in
// `state.query.client`, then either run_sync_handlers() (no coroutine among
// them) or awaits the coroutine handlers itself and calls complete(). An
// AXFR/IXFR over TCP is left to the caller (kTransfer), which serves it.
//
// A Responder is immutable and thread-safe; respond() allocates nothing on
// the zone-data path.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "basalt/dns/dnssec/nsec_chain.hpp"
#include "basalt/dns/dnssec/zone_signer.hpp"
#include "basalt/dns/server/handler_table.hpp"
#include "basalt/dns/server/query.hpp"
#include "basalt/dns/server/query_state.hpp"
#include "basalt/dns/server/server_cookies.hpp"
#include "basalt/dns/wire/message_writer.hpp"
#include "basalt/dns/zone/zone_set.hpp"

namespace basalt::dns {

// One answered query, for observers (logs, the management protocol's events).
struct QueryEvent {
  Question question;
  Transport transport = Transport::kUdp;
  Rcode rcode = Rcode::kNoError;
  bool answered = false;  // false: dropped
  bool from_handlers = false;
  std::chrono::microseconds duration{0};
  std::optional<core::Endpoint> client;  // the peer, when known (not in manual mode)
};
using QueryObserver = std::function<void(const QueryEvent&)>;

// What the workers read: published as one immutable snapshot.
struct ServerData {
  ZoneSet zones;
  HandlerTable handlers;
  QueryObserver observer;  // called on the worker thread after each query, if set
  // Asked when neither zone data nor a registered handler answers, also for
  // names outside every zone: its empty answer is NODATA inside a zone,
  // REFUSED outside (Server::set_fallback_handler).
  std::shared_ptr<const HandlerEntry> fallback;
  // The online signers of the signed zones (usually none or one).
  std::vector<std::shared_ptr<const ZoneSigner>> signers;
  // The signed zones' precomputed denial (nsec_chain.hpp), each for the zone
  // object it was built from; a zone without one answers with white lies.
  std::vector<std::shared_ptr<const DenialChain>> chains;

  const ZoneSigner* signer(const Zone& zone) const noexcept {
    for (const auto& s : signers) {
      if (s->apex() == zone.apex()) return s.get();
    }
    return nullptr;
  }
  const DenialChain* denial(const Zone& zone) const noexcept {
    for (const auto& c : chains) {
      if (&c->zone() == &zone) return c.get();
    }
    return nullptr;
  }
  // The regions of `zone` that this data's handlers reach.
  DenialRegions reachable(const Zone& zone) const {
    return DenialRegions::of(zone.apex(), handlers.suffixes(), fallback != nullptr);
  }
};

struct ResponderOptions {
  bool localhost = true;                 // answer localhost. and *.localhost. (RFC 6761)
  std::uint16_t max_udp_payload = 1232;  // our EDNS buffer size (DNS flag day 2020)
  // Told about each handler record left out for invalid RDATA (`source`
  // names the handlers' patterns); called on the worker thread. Unset: a
  // warning each time.
  std::function<void(std::string_view source, const Name& owner, RRType type, std::string_view reason)>
      invalid_record;
  // DNS Cookies (server_cookies.hpp); null: COOKIE options are ignored, as
  // by a server that does not implement them (RFC 7873 §5.2.1).
  std::shared_ptr<const ServerCookies> cookies;
};

class Responder {
 public:
  enum class Status { kAnswered, kDropped, kNeedsHandlers, kTransfer };

  explicit Responder(ResponderOptions options = {}) : options_(options) {}

  // Parses `message` once into `state` (whose transport and client the
  // caller has set with reset()) and answers it into `out` (at least 65535
  // bytes for TCP and DoH, max_udp_payload for UDP), setting `out_size` and
  // the answer's fields of `state`. kDropped: no answer at all (the packet
  // was a response, or too short to answer). kNeedsHandlers: `state` holds
  // what complete() needs. kTransfer: an AXFR/IXFR over TCP, nothing written;
  // `state` holds its question. `data` must stay alive for the call.
  Status respond(std::span<const std::uint8_t> message, const std::shared_ptr<const ServerData>& data,
                 QueryState& state, std::span<std::uint8_t> out, std::size_t& out_size) const;

  // Writes the answer from the handlers' records (`failed`: a handler threw
  // or timed out, which costs SERVFAIL). Returns the response size.
  std::size_t complete(QueryState& state, std::vector<Record>&& records, bool failed,
                       std::span<std::uint8_t> out) const;

  // True if every handler of `state` is synchronous.
  static bool all_sync(const QueryState& state) noexcept;
  // Runs the (synchronous) handlers of `state` inline and completes.
  std::size_t run_sync_handlers(QueryState& state, std::span<std::uint8_t> out) const;

  const ResponderOptions& options() const noexcept { return options_; }

 private:
  ResponderOptions options_;
};

}  // namespace basalt::dns
