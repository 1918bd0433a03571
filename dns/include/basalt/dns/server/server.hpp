// The authoritative DNS server: zones, handlers, UDP and TCP listeners on
// every worker thread, DNS over HTTPS (doh.hpp), zone transfer out, NOTIFY,
// counters.
//
//   dns::Server server({.listen = {*core::Endpoint::parse("127.0.0.1:5353")},
//                       .zones = {{.apex = "dyn.example.test"}}});
//   server.handle("*.dyn.example.test", {dns::RRType::kA}, [](const dns::Query& q) {
//     return std::vector<dns::Record>{...};
//   });
//   server.start();
//
// Handlers and zones may be added and removed while the server runs; each
// change is published atomically (workers see the old or the new set, never a
// mix). A handler pattern must lie inside one of the server's zones.
// process_packet() answers raw messages for callers that own their sockets.
//
// Thread-safety: every public function may be called from any thread, except
// that the constructor/destructor and start()/wait() belong to the owner.
// Control-plane failures throw: std::invalid_argument for bad arguments,
// core::config::Error / ZoneError for bad configuration, std::system_error
// for sockets that cannot be opened.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/dns/server/doh.hpp"
#include "basalt/dns/server/handler_table.hpp"
#include "basalt/dns/server/metrics.hpp"
#include "basalt/dns/server/responder.hpp"
#include "basalt/dns/server/server_config.hpp"
#include "basalt/dns/zone/zone.hpp"
#include "basalt/dns/zone/zone_file.hpp"

namespace basalt::core {
class Runtime;
class Shutdown;
}  // namespace basalt::core
namespace basalt::service {
class CertificateSet;
}

namespace basalt::dns {

class Server {
 public:
  // Validates the configuration and loads the zones; opens nothing yet.
  // With DoH listeners, `certificates` is what they serve; null: a set made
  // from `tls`, else a self-signed pair kept in `state_dir`. The config's
  // `metrics`, `log` and `acme` sections belong to the daemon (dns::Daemon).
  explicit Server(ServerConfig config, std::shared_ptr<service::CertificateSet> certificates = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the listeners (one UDP socket and one TCP acceptor per worker for
  // each `listen` address), starts the worker threads, sends NOTIFY.
  void start();
  // Stops listening and lets in-flight work finish (up to `drain`).
  void stop(std::chrono::milliseconds drain = std::chrono::seconds(5));
  // Blocks until the server has stopped (after stop(), or SIGINT/SIGTERM when
  // stop_on_signals() was called).
  void wait();
  void stop_on_signals();

  // The addresses actually bound (port 0 resolved), once started.
  std::vector<core::Endpoint> udp_endpoints() const;
  std::vector<core::Endpoint> tcp_endpoints() const;
  // The DNS-over-HTTPS listeners' addresses (config `doh`), once started.
  std::vector<core::Endpoint> doh_endpoints() const;
  // Replaces the configured DoH certificate (PEM files or PEM text) for new
  // TLS handshakes; open connections keep going. Throws
  // std::invalid_argument with the reason (and changes nothing) if it does
  // not load or there is no DoH listener.
  void update_certs(const core::TlsCertificateSource& source);
  // The DoH listeners' certificate set; null without DoH.
  const std::shared_ptr<service::CertificateSet>& certificates() const noexcept;
  // The served zone that `name` is in (the longest apex), or null.
  std::shared_ptr<const Zone> find_zone(const Name& name) const;

  // Registers a handler for names matching `pattern` (a glob, matched
  // case-insensitively) and the given types (empty: all types).
  HandlerId handle(std::string_view pattern, std::vector<RRType> types, HandlerFn fn);
  HandlerId handle_async(std::string_view pattern, std::vector<RRType> types, AsyncHandlerFn fn);
  bool remove_handler(HandlerId id);
  // The handler asked for every question that neither zone data nor a
  // registered handler answers, including names outside every zone — for a
  // driver that owns the answers (engine mode). Its empty answer is NODATA
  // inside a zone and REFUSED outside; on timeout or failure, SERVFAIL.
  // Replaces the previous one; an empty function removes it.
  void set_fallback_handler(AsyncHandlerFn fn);

  // Adds or replaces a zone (by apex); sends NOTIFY to the configured secondaries.
  void put_zone(Zone zone);
  bool remove_zone(const Name& apex);
  std::vector<Name> zone_apexes() const;

  // One zone of a reload: its apex and SOA serial before and after (before
  // is absent for a zone that was not served).
  struct ReloadedZone {
    Name apex;
    std::optional<std::uint32_t> old_serial;
    std::uint32_t serial = 0;
  };
  // Re-reads every zone the configuration names (`zones[].file`; SIGHUP in
  // the daemon) and replaces them in one step: either every file loads and
  // all are swapped in together, or nothing changes and the ZoneError
  // (file:line) or core::config::Error of the first bad file is thrown.
  // Zones added with put_zone() under other apexes stay. Secondaries are
  // sent NOTIFY for zones whose serial changed. Thread-safe.
  std::vector<ReloadedZone> reload_zones();

  // Manual mode: answers one raw DNS message (the bytes of a query) as the
  // UDP listener would, but without a size limit beyond 65535. Runs
  // coroutine handlers to completion on the calling thread. `client`, when
  // the caller knows it, is where the query came from: DNS Cookies need it
  // (without it a COOKIE option is ignored).
  std::vector<std::uint8_t> process_packet(std::span<const std::uint8_t> query,
                                           std::optional<core::Endpoint> client = std::nullopt);
  boost::asio::awaitable<std::vector<std::uint8_t>> async_process_packet(
      std::span<const std::uint8_t> query, Transport transport = Transport::kManual,
      std::optional<core::Endpoint> client = std::nullopt);

  // Counts a record a handler returned that cannot be served (the caller
  // leaves it out of the answer) and logs it once per distinct (source,
  // owner, type, reason), at most 1024 of them, so bad handler output cannot
  // flood the log. For callers that turn handler output into records
  // themselves (engine mode); records with invalid RDATA returned to the
  // server are reported by it. Counted in Metrics::invalid_handler_records.
  void report_invalid_handler_record(std::string_view source, std::string_view owner, std::string_view type,
                                     std::string_view reason);

  // The answerer for a DohHandler (doh.hpp) on an http::Server of runtime():
  // each query is parsed once and answered on the DNS worker that runs its
  // HTTP connection, with that worker's counters and buffers, and its query
  // event carries the client's address. Called on another thread, it
  // answers as async_process_packet() does. Valid while the Server lives.
  DohAnswerer doh_answerer();

  // Called on a worker thread after every query; replaces the previous observer.
  void set_query_observer(QueryObserver observer);

  Metrics metrics() const;
  const ServerConfig& config() const noexcept;
  core::Runtime& runtime();
  // The graceful stop of this server's runtime: attach other listeners on
  // the same runtime (the daemon's metrics endpoint) to it.
  core::Shutdown& shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Loads the zones a configuration names. Throws ZoneError (file:line) or
// core::config::Error.
std::vector<Zone> load_zones(const ServerConfig& config);

}  // namespace basalt::dns
