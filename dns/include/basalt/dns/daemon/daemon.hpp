// `basalt-dns serve` as a library: the authoritative server (server.hpp) with
// what every basalt daemon has (service/): the DoH certificate set, ACME
// certificates obtained with dns-01 through the server's own answers and
// kept renewed (config `acme`, or one request at a time), the Prometheus
// listener (config `metrics`) and the management commands.
//
//   dns::Daemon daemon(config);          // validates, loads zones
//   daemon.register_commands(registry, [&](auto event, auto data) { mgmt.emit(event, data); });
//   daemon.start();
//   daemon.wait();
//
// Commands: stop, getMetrics, getCertificates, updateCerts,
// retrieveCertificate (service/commands.hpp), listZones, setQueryEvents,
// addAcmeChallenge and removeAcmeChallenge (dns-01 records published for
// another process, e.g. the proxy's own orders; docs/dns.md).
//
// Thread-safety: as dns::Server. Failures: construction throws
// core::config::Error (e.g. an `acme.domains` name the server cannot answer
// for) or ZoneError; retrieve_certificate throws acme::Error.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/service/certificate_request.hpp"

namespace basalt::core::management {
class Registry;
}

namespace basalt::dns {

class Daemon {
 public:
  using Emit = std::function<void(std::string_view event, boost::json::value data)>;

  explicit Daemon(ServerConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Installs a stored ACME certificate, opens every listener, starts the
  // renewal of `acme.domains`.
  void start();
  void stop(std::chrono::milliseconds drain = std::chrono::seconds(5));
  void wait();
  // SIGINT and SIGTERM stop the daemon gracefully; SIGHUP re-reads the zone
  // files (Server::reload_zones: all or nothing, the error logged).
  void stop_on_signals();

  Server& server() noexcept;
  // The Prometheus /metrics listener's address, if configured and started.
  std::optional<core::Endpoint> metrics_endpoint() const;

  // Obtains a certificate for `request.domains` from an ACME CA with dns-01,
  // like smartdns's retrieveSslCertificate: every name (a wildcard through
  // its base name) must be one this server is authoritative for, else
  // acme::Error before the CA is contacted. Unset fields come from the
  // config's `acme` section. A stored certificate for exactly these names
  // and key type that is not due is returned without asking the CA; an
  // order for them already in flight is shared. The result is served at
  // once by the DoH listeners (by SNI; newest first). Needs start() (the CA
  // must reach this server). The blocking form must not be called from the
  // server's own threads.
  acme::Obtained retrieve_certificate(service::CertificateRequest request, acme::ProgressFn progress = {});
  boost::asio::awaitable<acme::Obtained> async_retrieve_certificate(service::CertificateRequest request,
                                                                    acme::ProgressFn progress);

  // Adds the daemon's management commands; `emit` sends events (query events).
  // `management`, if given, reports the management server's own counters for
  // getMetrics and /metrics (it may be called from any thread).
  void register_commands(core::management::Registry& registry, Emit emit,
                         std::function<ManagementCounters()> management = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::dns
