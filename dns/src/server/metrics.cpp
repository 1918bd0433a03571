#include "basalt/dns/server/metrics.hpp"

#include <fmt/format.h>

namespace basalt::dns {
namespace {

constexpr std::array<RRType, Counters::kTypes - 1> kTypeList = {
    RRType::kA,     RRType::kAAAA, RRType::kNS,  RRType::kCNAME, RRType::kSOA,    RRType::kPTR,
    RRType::kMX,    RRType::kTXT,  RRType::kSRV, RRType::kCAA,   RRType::kDNSKEY, RRType::kDS,
    RRType::kHTTPS, RRType::kSVCB, RRType::kANY, RRType::kAXFR};
constexpr std::array<Transport, 4> kTransports = {Transport::kUdp, Transport::kTcp, Transport::kHttps,
                                                  Transport::kManual};

// Response kinds of rate limiting, in ResponseKind's order.
constexpr std::array<std::string_view, 4> kRrlKinds = {"answer", "nodata", "nxdomain", "error"};

std::uint64_t sum(const std::map<std::string, std::uint64_t>& m) {
  std::uint64_t n = 0;
  for (const auto& [k, v] : m) n += v;
  return n;
}

std::string rcode_name(std::size_t r) {
  return r + 1 == Counters::kRcodes ? "OTHER" : to_string(static_cast<Rcode>(r));
}

}  // namespace

std::size_t Counters::type_slot(RRType t) noexcept {
  for (std::size_t i = 0; i < kTypeList.size(); ++i) {
    if (kTypeList[i] == t) return i;
  }
  return kTypeList.size();  // other
}

void Counters::count_query(Transport transport, RRType qtype, Rcode rcode, bool tc) noexcept {
  bump(by_transport[static_cast<std::size_t>(transport)]);
  bump(by_type[type_slot(qtype)]);
  auto r = static_cast<std::size_t>(rcode);
  bump(by_rcode[r < kRcodes - 1 ? r : kRcodes - 1]);
  if (tc) bump(truncated);
}

void Metrics::add(const Counters& c) {
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  for (std::size_t i = 0; i < kTransports.size(); ++i) {
    queries_by_transport[std::string(to_string(kTransports[i]))] += get(c.by_transport[i]);
  }
  for (std::size_t i = 0; i < Counters::kTypes; ++i) {
    auto v = get(c.by_type[i]);
    if (v) queries_by_type[i < kTypeList.size() ? to_string(kTypeList[i]) : "OTHER"] += v;
  }
  for (std::size_t i = 0; i < Counters::kRcodes; ++i) {
    auto v = get(c.by_rcode[i]);
    if (v) responses_by_rcode[rcode_name(i)] += v;
  }
  constexpr std::array<const char*, 3> kCookies = {"clientOnly", "valid", "invalid"};
  for (std::size_t i = 0; i < kCookies.size(); ++i) queries_by_cookie[kCookies[i]] += get(c.by_cookie[i]);
  truncated += get(c.truncated);
  dropped += get(c.dropped);
  from_handlers += get(c.from_handlers);
  handler_failures += get(c.handler_failures);
  handler_overload += get(c.handler_overload);
  tcp_accepted += get(c.tcp_accepted);
  tcp_rejected += get(c.tcp_rejected);
  tcp_timeouts += get(c.tcp_timeouts);
  tcp_bad_frames += get(c.tcp_bad_frames);
  tcp_evicted += get(c.tcp_evicted);
  tcp_stalled += get(c.tcp_stalled);
  axfr += get(c.axfr);
  for (std::size_t i = 0; i < kRrlKinds.size(); ++i) {
    if (auto v = get(c.rrl_dropped[i])) rrl_dropped[std::string(kRrlKinds[i])] += v;
    if (auto v = get(c.rrl_slipped[i])) rrl_slipped[std::string(kRrlKinds[i])] += v;
  }
}

std::uint64_t Metrics::total_queries() const {
  std::uint64_t n = 0;
  for (const auto& [k, v] : queries_by_transport) n += v;
  return n;
}

boost::json::object Metrics::to_json() const {
  auto map = [](const std::map<std::string, std::uint64_t>& m) {
    boost::json::object o;
    for (const auto& [k, v] : m) o[k] = v;
    return o;
  };
  return {{"queries", total_queries()},
          {"queriesByTransport", map(queries_by_transport)},
          {"queriesByType", map(queries_by_type)},
          {"responsesByRcode", map(responses_by_rcode)},
          {"queriesByCookie", map(queries_by_cookie)},
          {"truncated", truncated},
          {"dropped", dropped},
          {"answeredByHandlers", from_handlers},
          {"handlerFailures", handler_failures},
          {"handlerOverload", handler_overload},
          {"invalidHandlerRecords", invalid_handler_records},
          {"dnssecSignatures", dnssec_signatures},
          {"tcpAccepted", tcp_accepted},
          {"tcpRejected", tcp_rejected},
          {"tcpTimeouts", tcp_timeouts},
          {"tcpBadFrames", tcp_bad_frames},
          {"tcpEvicted", tcp_evicted},
          {"tcpStalled", tcp_stalled},
          {"managementEventsDropped", management.events_dropped},
          {"managementClientsDisconnected", management.clients_disconnected},
          {"axfr", axfr},
          {"rrlDropped", sum(rrl_dropped)},
          {"rrlSlipped", sum(rrl_slipped)},
          {"rrlDroppedByKind", map(rrl_dropped)},
          {"rrlSlippedByKind", map(rrl_slipped)}};
}

std::string Metrics::prometheus() const {
  std::string out;
  auto family = [&](std::string_view name, std::string_view help, std::string_view label,
                    const std::map<std::string, std::uint64_t>& values) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const auto& [k, v] : values) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, k, v);
  };
  auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  family("basalt_dns_queries_total", "Queries received, by transport.", "transport", queries_by_transport);
  family("basalt_dns_queries_by_type_total", "Queries received, by question type.", "type", queries_by_type);
  family("basalt_dns_responses_total", "Responses sent, by rcode.", "rcode", responses_by_rcode);
  family("basalt_dns_cookie_queries_total",
         "Queries with a DNS cookie, by what it carried (a client cookie only, a valid or an invalid server "
         "cookie).",
         "cookie", queries_by_cookie);
  counter("basalt_dns_truncated_total", "UDP responses sent with TC set.", truncated);
  counter("basalt_dns_dropped_total", "Packets dropped without an answer.", dropped);
  counter("basalt_dns_handler_answers_total", "Answers produced by handlers.", from_handlers);
  counter("basalt_dns_handler_failures_total", "Handler exceptions and timeouts (SERVFAIL).",
          handler_failures);
  counter("basalt_dns_handler_overload_total",
          "Queries dropped because too many were awaiting handlers (max_handler_queries).", handler_overload);
  counter("basalt_dns_invalid_handler_records_total",
          "Records handlers returned that could not be served (left out of the answer).",
          invalid_handler_records);
  counter("basalt_dns_dnssec_signatures_total",
          "RRSIGs made by online signing (answers, white lies, NSEC chains).", dnssec_signatures);
  counter("basalt_dns_tcp_connections_total", "TCP connections accepted.", tcp_accepted);
  counter("basalt_dns_tcp_rejected_total",
          "TCP connections closed at once (server, address or network connection limit).", tcp_rejected);
  counter("basalt_dns_tcp_evicted_total",
          "Idle TCP connections closed to make room for a new one (server connection limit).", tcp_evicted);
  counter("basalt_dns_tcp_stalled_total",
          "TCP connections closed because the client stopped reading its answers (write timeout).",
          tcp_stalled);
  counter("basalt_dns_tcp_timeouts_total", "TCP connections closed for idleness or slow queries.",
          tcp_timeouts);
  counter("basalt_dns_management_events_dropped_total",
          "Events not sent to management clients that did not read them fast enough.",
          management.events_dropped);
  counter("basalt_dns_management_clients_disconnected_total",
          "Management clients disconnected for leaving their answers unread.",
          management.clients_disconnected);
  counter("basalt_dns_tcp_bad_frames_total", "TCP connections closed for a malformed frame.", tcp_bad_frames);
  counter("basalt_dns_axfr_total", "Zone transfers served.", axfr);
  family("basalt_dns_rrl_dropped_total", "UDP answers dropped by response rate limiting, by kind.", "kind",
         rrl_dropped);
  family("basalt_dns_rrl_slipped_total",
         "UDP answers sent truncated by response rate limiting (slip), by kind.", "kind", rrl_slipped);
  return out;
}

}  // namespace basalt::dns
