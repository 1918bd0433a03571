#include "basalt/http/client.hpp"

#include "basalt/core/ip_asio.hpp"
#include "basalt/http/transport.hpp"
#include "client_deadline.hpp"
#include "h1_client_connection.hpp"
#include "h2_client_connection.hpp"
#include "request_target.hpp"

#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <stdexcept>

namespace basalt::http {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

class ClientCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "basalt.http.client"; }
  std::string message(int ev) const override {
    switch (static_cast<ClientError>(ev)) {
      case ClientError::kBadUrl:
        return "not an absolute http or https URL";
      case ClientError::kResolveFailed:
        return "host name did not resolve";
      case ClientError::kConnectFailed:
        return "connection failed";
      case ClientError::kTlsFailed:
        return "TLS handshake failed";
      case ClientError::kTimeout:
        return "request timed out";
      case ClientError::kConnectionClosed:
        return "connection closed before the response was complete";
      case ClientError::kProtocolError:
        return "HTTP protocol error";
      case ClientError::kResponseTooLarge:
        return "response over the size limits";
      case ClientError::kPoolFull:
        return "too many requests waiting for a connection to this origin";
      case ClientError::kNotSupported:
        return "the server does not support this request";
    }
    return "unknown HTTP client error";
  }
};

}  // namespace

const boost::system::error_category& client_category() noexcept {
  static const ClientCategory category;
  return category;
}

boost::system::error_code make_error_code(ClientError e) noexcept {
  return {static_cast<int>(e), client_category()};
}

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  struct Origin {
    std::vector<std::shared_ptr<H2ClientConnection>> h2;
    std::vector<std::shared_ptr<H1ClientConnection>> idle;  // most recently used last
    // Every connection of the pool: being set up, HTTP/1.1 busy or idle, HTTP/2.
    std::size_t open = 0;
    std::size_t h2_connecting = 0;                            // being set up and may turn out HTTP/2
    std::optional<bool> speaks_h2;                            // what ALPN said last time
    std::deque<std::shared_ptr<asio::steady_timer>> waiters;  // requests waiting for a connection
  };
  struct Lease {
    std::shared_ptr<H2ClientConnection> h2;
    std::shared_ptr<H1ClientConnection> h1;
  };

  asio::io_context& io;
  ClientOptions options;
  std::optional<core::TlsClientContext> tls;
  std::unique_ptr<asio::ssl::context> ssl;
  std::map<std::string, Origin> origins;
  std::vector<std::weak_ptr<H1ClientConnection>> h1_all;  // for close()
  std::size_t opened = 0;

  Impl(asio::io_context& i, ClientOptions o) : io(i), options(std::move(o)) {
    auto tls_options = options.tls;
    tls_options.alpn =
        options.http2 ? std::vector<std::string>{"h2", "http/1.1"} : std::vector<std::string>{"http/1.1"};
    std::string error;
    tls = core::TlsClientContext::create(tls_options, &error);
    if (!tls) throw std::invalid_argument("http client TLS: " + error);
    SSL_CTX_up_ref(tls->native_handle());
    ssl = std::make_unique<asio::ssl::context>(tls->native_handle());
  }

  static std::string key(const RequestTarget& t) {
    std::string k = t.scheme + "://" + t.authority;
    if (t.connect_to) k += "@" + t.connect_to->to_string();
    return k;
  }

  void wake(Origin& o) {
    for (auto& w : o.waiters) w->cancel();
    o.waiters.clear();
  }

  bool too_old(Clock::time_point created) const {
    return options.max_connection_age.count() > 0 && Clock::now() - created >= options.max_connection_age;
  }

  // Drops closed HTTP/2 connections and closes retired ones (GOAWAY, age,
  // request count) once their last stream is done.
  void prune(Origin& o) {
    for (auto it = o.h2.begin(); it != o.h2.end();) {
      auto& c = *it;
      if (!c->closed() && !(c->idle() && !c->accepts_stream())) {
        ++it;
        continue;
      }
      c->close();
      it = o.h2.erase(it);
      --o.open;
    }
  }

  std::function<void()> h2_changed(const std::string& k) {
    return [w = weak_from_this(), k] {
      auto self = w.lock();
      if (!self) return;
      auto it = self->origins.find(k);
      if (it == self->origins.end()) return;
      self->prune(it->second);
      self->wake(it->second);
    };
  }

  H1ClientConnection::Release h1_release(const std::string& k) {
    return [w = weak_from_this(), k](std::shared_ptr<H1ClientConnection> c, bool reusable) {
      auto self = w.lock();
      if (!self) {
        c->close();
        return;
      }
      self->release_h1(k, std::move(c), reusable);
    };
  }

  void release_h1(const std::string& k, std::shared_ptr<H1ClientConnection> c, bool reusable) {
    auto& o = origins[k];
    bool keep =
        reusable && options.idle_timeout.count() > 0 && o.idle.size() < options.max_idle_per_origin &&
        !too_old(c->created()) &&
        (options.max_requests_per_connection == 0 || c->exchanges() < options.max_requests_per_connection);
    if (keep) {
      o.idle.push_back(c);
      c->arm_idle(options.idle_timeout, [w = weak_from_this(), k, wc = std::weak_ptr<H1ClientConnection>(c)] {
        auto self = w.lock();
        auto conn = wc.lock();
        if (!self || !conn) return;
        auto& o = self->origins[k];
        auto it = std::find(o.idle.begin(), o.idle.end(), conn);
        if (it == o.idle.end()) return;
        o.idle.erase(it);
        conn->close();
        --o.open;
        self->wake(o);
      });
    } else {
      c->close();
      --o.open;
    }
    wake(o);
  }

  // A connected (and for https, handshaken) transport, or an error.
  asio::awaitable<std::unique_ptr<Transport>> connect(const RequestTarget& t, Clock::time_point deadline,
                                                      bool http1_only, ClientStream& out) {
    std::vector<tcp::endpoint> endpoints;
    auto forced = options.resolve.find(t.host + ":" + std::to_string(t.port));
    if (t.connect_to) {
      endpoints.push_back(core::to_asio<tcp>(*t.connect_to));
    } else if (forced != options.resolve.end()) {
      endpoints.push_back(core::to_asio<tcp>(forced->second));
    } else if (auto ip = core::IpAddress::parse(t.host)) {
      endpoints.emplace_back(core::to_asio(*ip), t.port);
    } else {
      tcp::resolver resolver(io);
      error_code ec;
      ClientDeadline d(io.get_executor(), deadline, [&resolver] { resolver.cancel(); });
      auto results = co_await resolver.async_resolve(t.host, std::to_string(t.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        out.error = d.expired() ? ClientError::kTimeout : ClientError::kResolveFailed;
        out.detail = t.host + ": " + ec.message();
        co_return nullptr;
      }
      for (auto& r : results) endpoints.push_back(r.endpoint());
    }
    tcp::socket socket(io);
    error_code ec;
    {
      auto connect_deadline = std::min(deadline, Clock::now() + options.connect_timeout);
      ClientDeadline d(io.get_executor(), connect_deadline, [&socket] {
        error_code ignored;
        socket.close(ignored);
      });
      co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        out.error = d.expired() ? ClientError::kTimeout : ClientError::kConnectFailed;
        out.detail = (t.connect_to ? t.connect_to->to_string() : t.authority) + ": " + ec.message();
        co_return nullptr;
      }
    }
    ++opened;
    socket.set_option(tcp::no_delay(true), ec);
    if (t.scheme == "http") co_return make_plain_transport(std::move(socket));
    auto transport = make_tls_transport(std::move(socket), *ssl);
    std::string error;
    if (!tls->prepare(transport->ssl(), t.host, &error)) {
      out.error = ClientError::kTlsFailed;
      out.detail = error;
      co_return nullptr;
    }
    if (http1_only) {
      static constexpr unsigned char kHttp11[] = "\x08http/1.1";
      SSL_set_alpn_protos(transport->ssl(), kHttp11, sizeof kHttp11 - 1);
    }
    ClientDeadline d(io.get_executor(), deadline, [t = transport.get()] { t->close(); });
    co_await tls_handshake(*transport, false, ec);
    if (ec) {
      out.error = d.expired() ? ClientError::kTimeout : ClientError::kTlsFailed;
      auto why = core::tls_verify_error(transport->ssl());
      out.detail = why.empty() ? ec.message() : why;
      co_return nullptr;
    }
    co_return transport;
  }

  // A connection for one request: an HTTP/2 connection with room for a
  // stream, an idle HTTP/1.1 one (unless `fresh`), or a new one within
  // max_connections_per_origin; else waits (max_pending_per_origin).
  asio::awaitable<Lease> acquire(const RequestTarget& t, const std::string& k, Clock::time_point deadline,
                                 bool fresh, ClientStream& out) {
    const bool maybe_h2 = options.http2 && (t.scheme == "https" || options.h2c);
    for (;;) {
      auto& o = origins[k];
      prune(o);
      for (auto& c : o.h2) {
        if (c->accepts_stream()) co_return Lease{.h2 = c, .h1 = nullptr};
      }
      while (!fresh && !o.idle.empty()) {
        auto c = std::move(o.idle.back());
        o.idle.pop_back();
        c->disarm_idle();
        if (!c->stale() && !too_old(c->created())) co_return Lease{.h2 = nullptr, .h1 = c};
        c->close();
        --o.open;
      }
      // A connection being set up may bring HTTP/2, which this request can
      // share: wait for it rather than open another.
      const bool wait_for_h2 = maybe_h2 && o.h2_connecting > 0 && o.speaks_h2 != false;
      if (!wait_for_h2) {
        if (o.open < options.max_connections_per_origin) break;
        if (!o.idle.empty()) {  // `fresh` at the limit: an idle one makes room
          o.idle.front()->close();
          o.idle.erase(o.idle.begin());
          --o.open;
          continue;
        }
      }
      if (o.waiters.size() >= options.max_pending_per_origin) {
        out.error = ClientError::kPoolFull;
        out.detail = k;
        co_return Lease{};
      }
      auto w = std::make_shared<asio::steady_timer>(io);
      w->expires_at(deadline);
      o.waiters.push_back(w);
      error_code ec;
      co_await w->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) {
        auto& o2 = origins[k];
        o2.waiters.erase(std::remove(o2.waiters.begin(), o2.waiters.end(), w), o2.waiters.end());
        out.error = ClientError::kTimeout;
        out.detail = "waiting for a connection to " + k;
        co_return Lease{};
      }
    }
    {
      auto& o = origins[k];
      ++o.open;
      if (maybe_h2) ++o.h2_connecting;
    }
    auto transport = co_await connect(t, deadline, false, out);
    auto& o = origins[k];
    if (maybe_h2) --o.h2_connecting;
    if (!transport) {
      --o.open;
      wake(o);
      co_return Lease{};
    }
    bool h2 = t.scheme == "https" ? options.http2 && core::tls_alpn_protocol(transport->ssl()) == "h2"
                                  : options.http2 && options.h2c;
    if (maybe_h2) o.speaks_h2 = h2;
    wake(o);
    if (h2) {
      auto c = std::make_shared<H2ClientConnection>(std::move(transport), options, h2_changed(k));
      c->start();
      o.h2.push_back(c);
      co_return Lease{.h2 = c, .h1 = nullptr};
    }
    auto c = std::make_shared<H1ClientConnection>(std::move(transport), options);
    std::erase_if(h1_all, [](auto& w) { return w.expired(); });
    h1_all.push_back(c);
    co_return Lease{.h2 = nullptr, .h1 = c};
  }

  asio::awaitable<ClientStream> open(ClientRequest request, Clock::time_point deadline) {
    auto keep = shared_from_this();
    ClientStream out;
    auto target = parse_target(request.url);
    if (!target) {
      out.error = ClientError::kBadUrl;
      out.detail = request.url;
      co_return out;
    }
    if (!request.authority.empty()) target->host_header = request.authority;
    target->connect_to = request.connect_to;
    const bool extended_connect = !request.protocol.empty();
    if (extended_connect &&
        (request.method != "CONNECT" || !options.http2 || (target->scheme == "http" && !options.h2c))) {
      out.error = ClientError::kNotSupported;
      out.detail = "extended CONNECT needs method CONNECT over HTTP/2";
      co_return out;
    }
    if (!extended_connect && (request.method == "CONNECT" || request.headers.contains("upgrade"))) {
      // Upgrades and tunnels take a connection of their own, HTTP/1.1 only,
      // never pooled.
      auto transport = co_await connect(*target, deadline, true, out);
      if (!transport) co_return out;
      auto conn = std::make_shared<H1ClientConnection>(std::move(transport), options);
      h1_all.push_back(conn);
      bool retry = false;
      auto release = [](std::shared_ptr<H1ClientConnection> c, bool) { c->close(); };
      co_return co_await conn->exchange(request, *target, deadline, release, retry);
    }
    auto k = key(*target);
    for (int attempt = 0;; ++attempt) {
      out = ClientStream{};
      auto lease = co_await acquire(*target, k, deadline, attempt > 0, out);
      if (!lease.h2 && !lease.h1) co_return out;
      bool retry = false;
      if (lease.h2) {
        out = co_await lease.h2->open(request, *target, deadline, retry);
      } else if (extended_connect) {
        release_h1(k, lease.h1, lease.h1->exchanges() == 0 || !lease.h1->stale());
        out.error = ClientError::kNotSupported;
        out.detail = "extended CONNECT needs HTTP/2; the server speaks HTTP/1.1";
        co_return out;
      } else {
        out = co_await lease.h1->exchange(request, *target, deadline, h1_release(k), retry);
      }
      // One retry, on a fresh connection, when the request was not processed.
      if (out || !retry || attempt >= 1 || Clock::now() >= deadline) co_return out;
    }
  }

  asio::awaitable<ClientResult> run(ClientRequest request) {
    auto keep = shared_from_this();
    ClientResult result;
    auto deadline = Clock::now() + request.timeout.value_or(options.request_timeout);
    auto s = co_await open(std::move(request), deadline);
    result.version = s.version;
    if (!s) {
      result.error = s.error;
      result.detail = std::move(s.detail);
      co_return result;
    }
    auto body = s.body;
    ClientDeadline d(io.get_executor(), deadline,
                     [body] { body->abort(make_error_code(BodyError::kTimeout)); });
    error_code ec;
    std::string bytes = co_await body->read_all(options.max_response_body_bytes, ec);
    if (ec) {
      if (ec == BodyError::kTooLarge) {
        result.error = ClientError::kResponseTooLarge;
      } else if (ec == BodyError::kTimeout) {
        result.error = ClientError::kTimeout;
      } else if (ec == BodyError::kProtocol) {
        result.error = ClientError::kProtocolError;
      } else {
        result.error = ClientError::kConnectionClosed;
      }
      result.detail = ec.message();
      co_return result;
    }
    result.response.status = s.head.status;
    result.response.headers = std::move(s.head.headers);
    result.response.body = std::move(bytes);
    co_return result;
  }

  asio::awaitable<ClientStream> open_stream(ClientRequest request) {
    auto deadline = Clock::now() + request.timeout.value_or(options.request_timeout);
    co_return co_await open(std::move(request), deadline);
  }

  void close() {
    for (auto& [k, o] : origins) {
      for (auto& c : o.h2) c->close();
      for (auto& c : o.idle) c->close();
      o.open -= o.h2.size() + o.idle.size();
      o.idle.clear();
      o.h2.clear();
      wake(o);
    }
    for (auto& w : h1_all) {
      if (auto c = w.lock()) c->close();
    }
    h1_all.clear();
  }
};

Client::Client(asio::io_context& io, ClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Client::~Client() {
  impl_->close();
}

// Not a coroutine itself: the request is copied into run()'s frame right
// here, before the caller suspends. g++ 12 miscompiles a by-value aggregate
// parameter that is a temporary in the caller's co_await expression
// (`co_await client.request({.url = ...})`); taking it by reference and
// copying at once is immune.
asio::awaitable<ClientResult> Client::request(const ClientRequest& request) {
  return impl_->run(request);
}

// Copied the same way as request().
asio::awaitable<ClientStream> Client::open(const ClientRequest& request) {
  return impl_->open_stream(request);
}

asio::any_io_executor Client::executor() const {
  return impl_->io.get_executor();
}

void Client::close() {
  impl_->close();
}

std::size_t Client::connections_opened() const noexcept {
  return impl_->opened;
}

}  // namespace basalt::http
