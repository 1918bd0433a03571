#include "basalt/service/metrics_listener.hpp"

#include <spdlog/spdlog.h>

#include "basalt/http/router.hpp"
#include "basalt/http/server.hpp"

namespace basalt::service {

MetricsListener::MetricsListener(core::Runtime& runtime, core::Shutdown& shutdown, const core::Endpoint& at,
                                 Render render) {
  http::Router router;
  router.add("/metrics", {"GET"},
             [render = std::move(render)](http::Request) -> boost::asio::awaitable<http::Response> {
               co_return http::Response(200, render(), "text/plain; version=0.0.4; charset=utf-8");
             });
  http_ = std::make_unique<http::Server>(runtime, router.handler());
  // Listen first: a port in use throws before the server is known to the
  // shutdown, which would otherwise call into it once it is gone.
  auto port = http_->listen({.endpoint = at, .h2c = false});
  http_->attach(shutdown);
  bound_ = core::Endpoint{at.address, port};
  spdlog::info("serving Prometheus metrics on http://{}/metrics", bound_.to_string());
}

MetricsListener::~MetricsListener() = default;

}  // namespace basalt::service
