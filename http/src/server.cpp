#include "basalt/http/server.hpp"

#include "basalt/core/accept_pause.hpp"
#include "basalt/core/ip_asio.hpp"
#include "basalt/core/runtime.hpp"
#include "basalt/core/shutdown.hpp"
#include "basalt/core/socket.hpp"
#include "basalt/http/transport.hpp"
#include "server_connection.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>

namespace basalt::http {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// What a listener's connections share. The acceptors are not in here: each
// is owned by its accept loop, so it is destroyed with its own worker's
// io_context and never from another one's teardown.
struct Listener {
  std::optional<core::TlsServerContext> tls;
  std::unique_ptr<asio::ssl::context> ssl;  // adopts tls's SSL_CTX
  bool h2c = true;
};

// Closes the transport when the timer fires first (handshake, version sniff).
class Deadline {
 public:
  Deadline(const asio::any_io_executor& ex, Transport& t, std::chrono::milliseconds d) : timer_(ex) {
    timer_.expires_after(d);
    timer_.async_wait([&t, expired = expired_](const error_code& ec) {
      if (ec) return;
      *expired = true;
      t.close();
    });
  }
  ~Deadline() { timer_.cancel(); }
  bool expired() const { return *expired_; }

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> expired_ = std::make_shared<bool>(false);
};

asio::awaitable<void> serve_tls(tcp::socket socket, Listener& listener, ConnectionContext ctx) {
  auto& stats = ctx.shared->stats;
  auto ex = socket.get_executor();
  auto transport = make_tls_transport(std::move(socket), *listener.ssl);
  error_code ec;
  {
    Deadline deadline(ex, *transport, ctx.shared->limits.handshake_timeout);
    co_await tls_handshake(*transport, true, ec);
  }
  if (ec) {
    stats.add(Stats::kTlsHandshakeFailures);
    spdlog::debug("http: TLS handshake with {} failed: {}", ctx.remote.to_string(), ec.message());
    co_return;
  }
  if (core::tls_alpn_protocol(transport->ssl()) == "h2") {
    co_await serve_http2(std::move(transport), std::move(ctx), {});
  } else {
    co_await serve_http1(std::move(transport), std::move(ctx), {});
  }
}

asio::awaitable<void> serve_plain(tcp::socket socket, Listener& listener, ConnectionContext ctx) {
  auto transport = make_plain_transport(std::move(socket));
  if (listener.h2c) {
    co_await serve_cleartext(std::move(transport), std::move(ctx), {});
  } else {
    co_await serve_http1(std::move(transport), std::move(ctx), {});
  }
}

asio::awaitable<void> serve_connection(tcp::socket socket, std::shared_ptr<Listener> listener,
                                       std::shared_ptr<ServerShared> shared,
                                       std::shared_ptr<WorkerConnections> worker) {
  auto& stats = shared->stats;
  stats.add(Stats::kConnectionsAccepted);
  stats.add(Stats::kConnectionsActive);
  ConnectionContext ctx{shared, nullptr, worker, {}, {}};
  error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (!ec) {
    ctx.remote = core::from_asio(peer);
    socket.set_option(tcp::no_delay(true), ec);
    if (shared->shutdown) ctx.token = shared->shutdown->hold();
    try {
      if (listener->ssl) {
        co_await serve_tls(std::move(socket), *listener, std::move(ctx));
      } else {
        co_await serve_plain(std::move(socket), *listener, std::move(ctx));
      }
    } catch (const std::exception& e) {
      spdlog::debug("http: connection ended: {}", e.what());
    }
  }
  stats.add(Stats::kConnectionsActive, -1);
}

asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> owned, std::shared_ptr<Listener> listener,
                                  std::shared_ptr<ServerShared> shared,
                                  std::shared_ptr<WorkerConnections> worker) {
  auto& acceptor = *owned;
  auto ex = acceptor.get_executor();
  asio::steady_timer backoff(ex);
  error_code ignored;
  core::AcceptPause pause("http listener on " +
                          core::from_asio(acceptor.local_endpoint(ignored)).to_string());
  for (;;) {
    error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or memory: pause instead of spinning.
      if (auto wait = pause.after_error(ec); wait.count() > 0) {
        backoff.expires_after(wait);
        co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    pause.after_success();
    asio::co_spawn(ex, serve_connection(std::move(socket), listener, shared, worker), asio::detached);
  }
}

}  // namespace

struct Server::Impl {
  core::Runtime& runtime;
  std::shared_ptr<ServerShared> shared = std::make_shared<ServerShared>();
  std::vector<std::shared_ptr<WorkerConnections>> workers;
  std::vector<std::vector<std::weak_ptr<tcp::acceptor>>> acceptors;  // [worker][listener]
  std::mutex mutex;
  bool stopped = false;

  explicit Impl(core::Runtime& r) : runtime(r) {}
};

Server::Server(core::Runtime& runtime, Handler handler, Limits limits)
    : Server(runtime, buffered(std::move(handler), limits.max_body_bytes), limits) {}

Server::Server(core::Runtime& runtime, StreamHandler handler, Limits limits)
    : impl_(std::make_unique<Impl>(runtime)) {
  impl_->shared->handler = std::move(handler);
  impl_->shared->limits = limits;
  for (std::size_t i = 0; i < runtime.workers(); ++i)
    impl_->workers.push_back(std::make_shared<WorkerConnections>());
  impl_->acceptors.resize(runtime.workers());
}

Server::~Server() {
  stop();
}

std::uint16_t Server::listen(const ListenOptions& options) {
  auto listener = std::make_shared<Listener>();
  listener->h2c = options.h2c;
  if (options.tls) {
    listener->tls = options.tls;
    SSL_CTX_up_ref(options.tls->native_handle());
    listener->ssl = std::make_unique<asio::ssl::context>(options.tls->native_handle());
  }
  auto sockets = core::open_tcp_per_worker(impl_->runtime, core::to_asio<tcp>(options.endpoint));
  std::uint16_t port = sockets.front().local_endpoint().port();
  std::lock_guard lock(impl_->mutex);
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    auto acceptor = std::make_shared<tcp::acceptor>(std::move(sockets[i]));
    impl_->acceptors[i].push_back(acceptor);
    auto ex = acceptor->get_executor();
    asio::co_spawn(ex, accept_loop(std::move(acceptor), listener, impl_->shared, impl_->workers[i]),
                   asio::detached);
  }
  return port;
}

void Server::stop() {
  std::lock_guard lock(impl_->mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->shared->draining = true;
  for (std::size_t i = 0; i < impl_->workers.size(); ++i) {
    asio::post(impl_->runtime.worker(i), [acceptors = impl_->acceptors[i], worker = impl_->workers[i]] {
      for (auto& weak : acceptors) {
        error_code ignored;
        if (auto a = weak.lock()) a->close(ignored);
      }
      worker->draining = true;
      std::vector<Connection*> live(worker->live.begin(), worker->live.end());
      for (auto* c : live) {
        if (worker->live.contains(c)) c->drain();
      }
    });
  }
}

void Server::attach(core::Shutdown& shutdown) {
  impl_->shared->shutdown = &shutdown;
  shutdown.on_begin([this] { stop(); });
}

const Stats& Server::stats() const noexcept {
  return impl_->shared->stats;
}
const Limits& Server::limits() const noexcept {
  return impl_->shared->limits;
}

}  // namespace basalt::http
