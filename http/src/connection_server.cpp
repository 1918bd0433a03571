// ConnectionServer (connection_server.hpp), and the cleartext version sniff
// it shares with Server.
#include "basalt/http/connection_server.hpp"

#include "server_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
}  // namespace

asio::awaitable<void> serve_cleartext(std::unique_ptr<Transport> transport, ConnectionContext ctx,
                                      std::string initial) {
  auto ex = co_await asio::this_coro::executor;
  {
    // The first bytes must come within idle_timeout, as a keep-alive
    // connection's next request must.
    asio::steady_timer deadline(ex);
    auto expired = std::make_shared<bool>(false);
    deadline.expires_after(ctx.shared->limits.idle_timeout);
    deadline.async_wait([t = transport.get(), expired](const error_code& ec) {
      if (ec) return;
      *expired = true;
      t->close();
    });
    std::array<char, 4096> buf;
    while (initial.size() < kPreface.size() && kPreface.starts_with(initial)) {
      error_code ec;
      auto n = co_await transport->read_some(asio::buffer(buf), ec);
      if (ec) {
        if (*expired) ctx.shared->stats.add(Stats::kIdleTimeouts);
        co_return;
      }
      initial.append(buf.data(), n);
    }
    deadline.cancel();
  }
  if (std::string_view(initial).starts_with(kPreface)) {
    co_await serve_http2(std::move(transport), std::move(ctx), std::move(initial));
  } else {
    co_await serve_http1(std::move(transport), std::move(ctx), std::move(initial));
  }
}

ConnectionServer::ConnectionServer(Limits limits)
    : shared_(std::make_shared<ServerShared>()), connections_(std::make_shared<WorkerConnections>()) {
  shared_->limits = limits;
}

ConnectionServer::~ConnectionServer() = default;

asio::awaitable<void> ConnectionServer::serve(std::unique_ptr<Transport> transport, core::Endpoint remote,
                                              std::shared_ptr<const StreamHandler> handler, Protocol protocol,
                                              std::string initial) {
  auto& stats = shared_->stats;
  stats.add(Stats::kConnectionsAccepted);
  stats.add(Stats::kConnectionsActive);
  ConnectionContext ctx{shared_, std::move(handler), connections_, remote, {}};
  try {
    switch (protocol) {
      case Protocol::kHttp1:
        co_await serve_http1(std::move(transport), std::move(ctx), std::move(initial));
        break;
      case Protocol::kHttp2:
        co_await serve_http2(std::move(transport), std::move(ctx), std::move(initial));
        break;
      case Protocol::kDetect:
        co_await serve_cleartext(std::move(transport), std::move(ctx), std::move(initial));
        break;
    }
  } catch (const std::exception& e) {
    spdlog::debug("http: connection ended: {}", e.what());
  }
  stats.add(Stats::kConnectionsActive, -1);
}

void ConnectionServer::drain() {
  shared_->draining = true;
  connections_->draining = true;
  std::vector<Connection*> live(connections_->live.begin(), connections_->live.end());
  for (auto* c : live) {
    if (connections_->live.contains(c)) c->drain();
  }
}

const Stats& ConnectionServer::stats() const noexcept {
  return shared_->stats;
}

const Limits& ConnectionServer::limits() const noexcept {
  return shared_->limits;
}

}  // namespace basalt::http
