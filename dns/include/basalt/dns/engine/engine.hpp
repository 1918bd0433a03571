// The DNS server engine of the smartdns TypeScript package: what
// `basalt-dns --management` speaks to @push.rocks/smartdns's DnsServer over
// the management protocol (JSON lines, smartrust framing).
//
// Commands: `start {config}` (UDP and DoH listeners, manual modes, zone,
// primary nameserver, localhost handling), `stop`, `processPacket {packet}`,
// `updateCerts {httpsKey, httpsCert}`, `dnsQueryResult {correlationId,
// answers, answered}` (an answer the server cannot use is left out, logged
// once and counted; the others are answered), `getMetrics`; `ping` is built
// into the management server. Events:
// `started`, `stopped`, and `dnsQuery {correlationId, questions, dnssecRequested}`
// for each question local data does not answer. Names in `dnsQuery` have no
// trailing dot and come lowercase, plus in the query's own spelling when it
// differs (the driver matches them with case-sensitive globs); `type` is the
// mnemonic and `class` "IN"; answers echo the exact case of the question. A question the driver leaves
// unanswered is NODATA inside `dnssecZone` and REFUSED outside; one it does
// not answer within `query_timeout` is SERVFAIL, and its pending entry is
// removed (also on `stop`), so nothing waits or leaks.
//
// Lifetime and threads: construct, register_commands() into a Registry, set
// the emitter, then serve the registry on `control` (an io_context with one
// thread). Commands run there; dnsQuery handlers run on the server's workers.
// Destroy after that thread has stopped (or after stop_server()).
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/describe/class.hpp>

#include "basalt/core/config.hpp"
#include "basalt/dns/server/metrics.hpp"

namespace boost::asio {
class io_context;
}
namespace basalt::core::management {
class Registry;
}

namespace basalt::dns {

// The `config` object of `start`, as smartdns 7.9.0 sends it (camelCase keys).
struct EngineStartConfig {
  std::optional<std::uint16_t> udp_port;
  std::optional<std::uint16_t> https_port;
  std::string udp_bind_interface = "0.0.0.0";
  std::string https_bind_interface = "0.0.0.0";
  std::string https_key;   // PEM text; both empty: a self-signed certificate from the state directory
  std::string https_cert;  // PEM text
  std::optional<std::string> dnssec_zone;  // the zone served (SOA/NS synthesised) and signed online
  std::string dnssec_algorithm = "ECDSA";  // ECDSA, ED25519, RSASHA256 (any name parse_algorithm takes)
  std::optional<std::string> primary_nameserver;
  bool enable_localhost_handling = true;
  bool manual_udp_mode = false;    // no UDP/TCP listener: the driver brings packets via processPacket
  bool manual_https_mode = false;  // no DoH listener
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(EngineStartConfig, (),
                      (udp_port, https_port, udp_bind_interface, https_bind_interface, https_key, https_cert,
                       dnssec_zone, dnssec_algorithm, primary_nameserver, enable_localhost_handling,
                       manual_udp_mode, manual_https_mode))

class Engine {
 public:
  struct Options {
    std::string state_dir;                           // keys and generated certificates
    std::chrono::milliseconds query_timeout{5'000};  // a dnsQuery unanswered by then costs SERVFAIL
    std::size_t workers = 0;                         // server worker threads; 0: one per core
  };
  using Emit = std::function<void(std::string_view event, boost::json::value data)>;

  Engine(boost::asio::io_context& control, Options options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Adds start, stop, processPacket, updateCerts, dnsQueryResult and getMetrics.
  void register_commands(core::management::Registry& registry);
  // Where events go (usually management::Server::emit). Thread-safe callee required.
  void set_emitter(Emit emit);
  // The management server's own counters, for getMetrics. Thread-safe callee required.
  void set_management_counters(std::function<ManagementCounters()> counters);
  // Stops the server if running (fails pending questions first). Call on the control thread.
  void stop_server();
  // Questions waiting for the driver now (for tests and metrics).
  std::size_t pending_questions() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace basalt::dns

namespace basalt::core::config {
template <>
inline constexpr KeyStyle key_style<dns::EngineStartConfig> = KeyStyle::camel;
}
