// basalt-proxy as a library: a route-based TCP/TLS reverse proxy (the job of
// @push.rocks/smartproxy) configured with smartproxy's route objects
// (options.hpp).
//
//   proxy::Proxy proxy(proxy::decode_options(core::config::load_file("proxy.yaml")));
//   proxy.start();                       // binds every route's ports, starts the workers
//   proxy.update_routes(new_routes);     // atomic: new connections see the new table
//   proxy.stop(); proxy.wait();
//
// Workers: `workers` threads (0: one per CPU this process may run on), each
// with its own listeners (SO_REUSEPORT), connections, pipes and counters;
// they share the route snapshot, the ticket keys and the limits table.
// Connections: matched on port and client IP at accept and on the
// ClientHello's SNI when a route needs it (docs/proxy.md), then relayed
// (splice for plain TCP) or TLS-terminated / re-encrypted.
//
// Thread-safety: every member may be called from any thread except a worker.
// Failures: the constructor and update_routes throw core::config::Error
// naming the key path; start, update_routes and add_listening_port throw
// std::system_error naming the address when a port cannot be bound (and
// change nothing).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/unique_fd.hpp"
#include "basalt/proxy/options.hpp"

namespace basalt::core {
class Runtime;
class Shutdown;
}  // namespace basalt::core

namespace basalt::proxy {

class Proxy {
 public:
  // An event for `setConnectionEvents`: "connectionOpened" / "connectionClosed".
  using EventSink = std::function<void(std::string_view event, boost::json::value data)>;

  explicit Proxy(ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Binds every port of the enabled routes on bindAddresses, then starts the
  // worker threads. Throws (and binds nothing) when a port is taken.
  void start();
  // Socket takeover: starts on the listening sockets a running proxy handed
  // over (listening_sockets() of the old one). Every one whose port and
  // address the routes need is adopted and accepts beside the old process
  // until that one stops; the others are closed; only what none covers is
  // bound. Throws as start() does (the sockets are then closed here only).
  void start(std::vector<core::UniqueFd> inherited);
  // A duplicate (O_CLOEXEC) of every listening socket, for a successor;
  // empty once the proxy drains.
  std::vector<core::UniqueFd> listening_sockets() const;
  // The process-level drain (a takeover, `drain {graceMs}`): stops accepting
  // (returns once no worker accepts any more and what was accepted before
  // has been let in, so nothing queued is refused), then lets open
  // connections finish for up to `limit` as stop() does. Not from a worker.
  void drain(std::chrono::milliseconds limit, std::string reason = "drain requested");
  // Connections open now: what a drain waits for.
  std::size_t open_connections() const;
  // Stops accepting at once, lets open connections finish for up to
  // `drain` (default gracefulShutdownTimeout), then stops the workers.
  void stop();
  void stop(std::chrono::milliseconds drain);
  // Blocks until the workers have stopped.
  void wait();
  // Stops when SIGINT or SIGTERM arrives (the daemon's behaviour).
  void stop_on_signals();
  bool running() const noexcept;

  // Replaces the route table. New ports are bound first; if one cannot be,
  // or a route is invalid, nothing changes. Open connections keep the route
  // they matched; ports no route uses any more are closed.
  void update_routes(std::vector<RouteConfig> routes);
  // Applies a re-read config file (SIGHUP): routes, defaults, timeouts and
  // limits, through the same all-or-nothing path as update_routes. Settings
  // that need a restart (workers, stateDir, bindAddresses, user, dns,
  // metrics) are logged and left as they were.
  void reload(ProxyOptions options);
  // The options the proxy runs with (routes as last updated).
  ProxyOptions options() const;

  // Listening ports, sorted.
  std::vector<std::uint16_t> listening_ports() const;
  // A port held open without a route: its connections are closed and counted
  // (reason "port_without_route"). Idempotent.
  void add_listening_port(std::uint16_t port);
  // Releases a port added by add_listening_port (a port a route still uses
  // stays open). Idempotent.
  void remove_listening_port(std::uint16_t port);

  // getMetrics: IMetrics names; params {topIPs, historySeconds} (see docs/proxy.md).
  boost::json::object metrics(const boost::json::object& params = {}) const;
  // getStatistics: connection counts, refusals, workers, ports, routes, pipes.
  boost::json::object statistics() const;
  // Prometheus text, names basalt_proxy_*.
  std::string prometheus() const;
  // getCertificateStatus {routeName}: the route's certificate in the
  // package's ICertStatus shape ({domain, domains, status, expiryDate,
  // issueDate, source, error?}); throws core::config::Error when there is no
  // such route or it has none.
  boost::json::object certificate_status(std::string_view route_name) const;
  // provisionCertificate (force false: orders unless a good certificate is
  // held) and renewCertificate (force true) for a certificate: auto route;
  // resolves to the status once done. Throws with the CA's reason when the
  // order fails (the old certificate keeps serving).
  boost::asio::awaitable<boost::json::object> provision_certificate(std::string route_name, bool force);
  // provideCertificate (acme.certProvision: driver): the driver's certificate
  // for `domain`, or (`use_acme`) "ask the CA". Throws std::invalid_argument.
  void provide_certificate(const std::string& domain, const std::string& cert, const std::string& key,
                           bool use_acme);
  // certificateIssued / certificateFailed / certificateRequest events, from
  // the certificate thread.
  void set_certificate_events(EventSink sink);

  // Connection events on (sink non-null) or off. The sink is called on worker
  // threads; it must be thread-safe.
  void set_connection_events(EventSink sink);

  core::Runtime& runtime() noexcept;
  // The drain sequence (for listeners a daemon adds, such as /metrics).
  core::Shutdown& shutdown() noexcept;

 private:
  void add_drain_state(boost::json::object& out) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::proxy
