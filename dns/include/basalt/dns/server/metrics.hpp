// Server counters: queries by transport, type, rcode and DNS cookie,
// truncations, drops, handler failures and TCP connection events.
//
// Each worker thread counts into its own Counters (relaxed atomics, one cache
// line apart), so counting costs no cross-core traffic; metrics() sums them
// into a Metrics value, readable over the management protocol (to_json) and
// as Prometheus text (prometheus()).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include <boost/json/object.hpp>

#include "basalt/dns/server/query.hpp"
#include "basalt/dns/server/server_cookies.hpp"
#include "basalt/dns/wire/rr_type.hpp"

namespace basalt::dns {

struct alignas(64) Counters {
  static constexpr std::size_t kTypes = 17;   // see type_slot()
  static constexpr std::size_t kRcodes = 25;  // 0-23 (BADCOOKIE) by name, then OTHER
  std::array<std::atomic<std::uint64_t>, 4> by_transport{};
  std::array<std::atomic<std::uint64_t>, kTypes> by_type{};
  std::array<std::atomic<std::uint64_t>, kRcodes> by_rcode{};
  std::atomic<std::uint64_t> truncated{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> from_handlers{0};
  std::atomic<std::uint64_t> handler_failures{0};
  std::atomic<std::uint64_t> handler_overload{0};
  std::atomic<std::uint64_t> tcp_accepted{0};
  std::atomic<std::uint64_t> tcp_rejected{0};
  std::atomic<std::uint64_t> tcp_timeouts{0};
  std::atomic<std::uint64_t> tcp_bad_frames{0};
  std::atomic<std::uint64_t> tcp_evicted{0};
  std::atomic<std::uint64_t> tcp_stalled{0};
  std::atomic<std::uint64_t> axfr{0};
  // Queries with a client cookie only, a valid and an invalid server cookie.
  std::array<std::atomic<std::uint64_t>, 3> by_cookie{};
  // Response rate limiting, by kind (answer, NODATA, NXDOMAIN, error):
  // answers dropped (also counted in `dropped`) and sent truncated.
  std::array<std::atomic<std::uint64_t>, 4> rrl_dropped{};
  std::array<std::atomic<std::uint64_t>, 4> rrl_slipped{};

  static std::size_t type_slot(RRType t) noexcept;
  static void bump(std::atomic<std::uint64_t>& c) noexcept { c.fetch_add(1, std::memory_order_relaxed); }
  void count_query(Transport transport, RRType qtype, Rcode rcode, bool truncated) noexcept;
  void count_cookie(CookieCheck check) noexcept {
    if (check != CookieCheck::kNone) bump(by_cookie[static_cast<std::size_t>(check) - 1]);
  }
};

// What the management server dropped: events for clients that do not read,
// and clients disconnected for not reading their answers (docs/core.md).
struct ManagementCounters {
  std::uint64_t events_dropped = 0;
  std::uint64_t clients_disconnected = 0;
};

struct Metrics {
  std::map<std::string, std::uint64_t> queries_by_transport;
  std::map<std::string, std::uint64_t> queries_by_type;
  std::map<std::string, std::uint64_t> responses_by_rcode;
  std::map<std::string, std::uint64_t> queries_by_cookie;  // clientOnly, valid, invalid
  std::uint64_t truncated = 0, dropped = 0, from_handlers = 0, handler_failures = 0;
  std::uint64_t handler_overload = 0;  // dropped: too many queries awaiting handlers
  // Records handlers returned that could not be served (left out of the
  // answer). Rare, so one counter in the server rather than one per worker.
  std::uint64_t invalid_handler_records = 0;
  // RRSIGs made by the online signers (answers, white lies, denial chains).
  std::uint64_t dnssec_signatures = 0;
  std::uint64_t tcp_accepted = 0, tcp_rejected = 0, tcp_timeouts = 0, tcp_bad_frames = 0, axfr = 0;
  std::uint64_t tcp_evicted = 0, tcp_stalled = 0;
  // Response rate limiting: answers dropped and sent truncated, by kind.
  std::map<std::string, std::uint64_t> rrl_dropped, rrl_slipped;
  ManagementCounters management;  // filled in by the daemon that owns the management server

  void add(const Counters& c);
  std::uint64_t total_queries() const;
  boost::json::object to_json() const;
  std::string prometheus() const;
};

}  // namespace basalt::dns
