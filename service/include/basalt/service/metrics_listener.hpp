// The Prometheus text endpoint every basalt daemon can serve (`metrics:
// {listen: ADDR:PORT}`): GET /metrics answers what `render` returns, built
// from the module's counters at the moment of the request (cleartext
// HTTP/1.1, on the runtime's workers; the listener stops with `shutdown`).
//
//   service::MetricsListener metrics(runtime, shutdown, *config.metrics.listen,
//                                    [&server] { return server.metrics().prometheus(); });
//
// Thread-safety: `render` is called on worker threads, possibly at once.
// Lifetime: as http::Server (destroy after the runtime's threads end).
// Throws std::system_error naming the address when it cannot listen.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "basalt/core/ip.hpp"

namespace basalt::core {
class Runtime;
class Shutdown;
}  // namespace basalt::core
namespace basalt::http {
class Server;
}

namespace basalt::service {

class MetricsListener {
 public:
  using Render = std::function<std::string()>;
  MetricsListener(core::Runtime& runtime, core::Shutdown& shutdown, const core::Endpoint& at, Render render);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  // The address bound (port 0 resolved).
  const core::Endpoint& endpoint() const noexcept { return bound_; }

 private:
  std::unique_ptr<http::Server> http_;
  core::Endpoint bound_;
};

}  // namespace basalt::service
