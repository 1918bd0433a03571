// What a worker thread owns, and what its connections reach of the proxy.
//
// Worker: one per Runtime worker; its pipes, its view of the route snapshot,
// its target resolver, its HTTP sessions and its pooled backend clients are
// touched by its own thread only.
// ProxyCore: the shared parts a connection calls into (admission, metrics,
// events, shutdown tokens), implemented by the proxy (proxy.cpp); every
// member is safe to call from any worker.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include "basalt/core/ip.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/core/snapshot.hpp"
#include "basalt/http/connection_server.hpp"
#include "http/backend_clients.hpp"
#include "l4/pipe_pool.hpp"
#include "metrics/refuse_reason.hpp"
#include "metrics/worker_metrics.hpp"
#include "route_set.hpp"
#include "target_resolver.hpp"

namespace basalt::proxy {

struct Route;

// An admitted connection's accounting: released when destroyed.
class ConnectionLease {
 public:
  virtual ~ConnectionLease() = default;
  // Bytes moved (relay chunk), from the worker thread that owns the connection.
  virtual void bytes(std::uint64_t from_client, std::uint64_t to_client) noexcept = 0;
};

class ProxyCore {
 public:
  virtual ~ProxyCore() = default;
  virtual core::Shutdown::Token hold() = 0;
  virtual bool draining() const = 0;
  virtual void refused(std::size_t worker, RefuseReason reason, std::string_view detail,
                       const core::IpAddress& client) = 0;
  // Security limits of the route, then metrics and the open event. Null:
  // refused (already counted).
  virtual std::unique_ptr<ConnectionLease> admit(std::size_t worker, const RouteSet& set, const Route& route,
                                                 const core::Endpoint& client, std::uint16_t port) = 0;
  // The close event and duration metrics.
  virtual void closed(std::size_t worker, const Route& route, const core::Endpoint& client,
                      std::uint16_t port, std::uint64_t from_client, std::uint64_t to_client,
                      std::chrono::milliseconds duration, std::string_view reason) = 0;
};

struct Worker {
  Worker(std::size_t index, boost::asio::io_context& io, const core::Snapshot<RouteSet>& routes,
         ProxyCore& core, TargetResolver::Options resolver, WorkerMetricsOptions metrics_options,
         http::Limits http_limits)
      : index(index),
        io(io),
        routes(routes),
        core(core),
        resolver(io, std::move(resolver)),
        metrics(metrics_options),
        http_server(http_limits),
        backends(io),
        random(std::random_device{}()) {}
  std::size_t index;
  boost::asio::io_context& io;
  PipePool pipes;
  core::Snapshot<RouteSet>::Reader routes;
  ProxyCore& core;
  TargetResolver resolver;
  WorkerMetrics metrics;
  http::ConnectionServer http_server;
  BackendClients backends;
  std::mt19937_64 random;
  std::uint64_t requests = 0;
  std::uint64_t connections = 0;
  // Every connection's watchdog timer, so that a route removal (drainGrace)
  // makes them look at their deadlines again.
  std::unordered_set<boost::asio::steady_timer*> watchdogs;
  void wake_watchdogs() {
    for (auto* t : watchdogs) t->cancel();
  }
  // When a refused handshake for a pending certificate was last logged.
  std::chrono::steady_clock::time_point last_certificate_warning{};

  // A request id unique in the process and hard to guess: 16 hex digits.
  std::string next_request_id() { return fmt::format("{:016x}", random() ^ (++requests << 8) ^ index); }
};

// Serves one accepted connection to its end; never throws.
void serve_connection(Worker& worker, boost::asio::ip::tcp::socket socket, std::uint16_t port);

}  // namespace basalt::proxy
