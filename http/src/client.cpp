#include "basalt/http/client.hpp"

#include "basalt/core/ip_asio.hpp"
#include "h1_response_reader.hpp"
#include "h2_client_connection.hpp"
#include "transport.hpp"

#include <openssl/ssl.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

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

std::optional<RequestTarget> parse_target(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return std::nullopt;
  RequestTarget t;
  t.scheme = std::string(u->scheme());
  if (t.scheme != "http" && t.scheme != "https") return std::nullopt;
  if (!u->has_authority() || u->host().empty()) return std::nullopt;
  t.host = u->host_type() == boost::urls::host_type::ipv6 ? std::string(u->encoded_host_address())
                                                          : std::string(u->encoded_host());
  if (u->has_port()) {
    auto port = u->port_number();
    if (port == 0) return std::nullopt;
    t.port = port;
  } else {
    t.port = t.scheme == "https" ? 443 : 80;
  }
  t.authority = std::string(u->encoded_host_and_port());
  t.path = std::string(u->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u->has_query()) {
    t.path.push_back('?');
    t.path.append(u->encoded_query());
  }
  return t;
}

// Closes the transport if the deadline passes first.
class Deadline {
 public:
  Deadline(const asio::any_io_executor& ex, Clock::time_point at, std::function<void()> on_expire)
      : timer_(ex) {
    timer_.expires_at(at);
    timer_.async_wait([expired = expired_, f = std::move(on_expire)](const error_code& ec) {
      if (ec) return;
      *expired = true;
      f();
    });
  }
  ~Deadline() { timer_.cancel(); }
  bool expired() const { return *expired_; }

 private:
  asio::steady_timer timer_;
  std::shared_ptr<bool> expired_ = std::make_shared<bool>(false);
};

struct H1Connection {
  std::unique_ptr<Transport> transport;
  Clock::time_point last_used;
};

std::string serialize_request(const ClientRequest& r, const RequestTarget& t) {
  std::string out;
  out.reserve(256 + r.headers.byte_size());
  out.append(r.method)
      .append(" ")
      .append(t.path)
      .append(" HTTP/1.1\r\nHost: ")
      .append(t.authority)
      .append("\r\n");
  for (auto& f : r.headers) {
    if (iequals(f.name, "host") || iequals(f.name, "content-length") || iequals(f.name, "transfer-encoding"))
      continue;
    for (char c : f.name) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    out.append(": ");
    for (char c : f.value) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
    out.append("\r\n");
  }
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
    out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  }
  out.append("\r\n");
  return out;
}

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
    std::shared_ptr<H2ClientConnection> h2;
    std::deque<H1Connection> idle;
    bool connecting = false;  // a connection that may turn out to be HTTP/2
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
  };

  asio::io_context& io;
  ClientOptions options;
  std::optional<core::TlsClientContext> tls;
  std::unique_ptr<asio::ssl::context> ssl;
  std::map<std::string, Origin> origins;
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

  static std::string key(const RequestTarget& t) { return t.scheme + "://" + t.authority; }

  void wake(Origin& o) {
    for (auto& w : o.waiters) w->cancel();
    o.waiters.clear();
  }

  // A connected (and for https, handshaken) transport, or an error.
  asio::awaitable<std::unique_ptr<Transport>> connect(const RequestTarget& t, Clock::time_point deadline,
                                                      ClientResult& result) {
    std::vector<tcp::endpoint> endpoints;
    auto forced = options.resolve.find(t.host + ":" + std::to_string(t.port));
    if (forced != options.resolve.end()) {
      endpoints.push_back(core::to_asio<tcp>(forced->second));
    } else if (auto ip = core::IpAddress::parse(t.host)) {
      endpoints.emplace_back(core::to_asio(*ip), t.port);
    } else {
      tcp::resolver resolver(io);
      error_code ec;
      Deadline d(io.get_executor(), deadline, [&resolver] { resolver.cancel(); });
      auto results = co_await resolver.async_resolve(t.host, std::to_string(t.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        result.error = d.expired() ? ClientError::kTimeout : ClientError::kResolveFailed;
        result.detail = t.host + ": " + ec.message();
        co_return nullptr;
      }
      for (auto& r : results) endpoints.push_back(r.endpoint());
    }
    tcp::socket socket(io);
    error_code ec;
    {
      auto connect_deadline = std::min(deadline, Clock::now() + options.connect_timeout);
      Deadline d(io.get_executor(), connect_deadline, [&socket] {
        error_code ignored;
        socket.close(ignored);
      });
      co_await asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        result.error = d.expired() ? ClientError::kTimeout : ClientError::kConnectFailed;
        result.detail = t.authority + ": " + ec.message();
        co_return nullptr;
      }
    }
    ++opened;
    socket.set_option(tcp::no_delay(true), ec);
    if (t.scheme == "http") co_return make_plain_transport(std::move(socket));
    auto transport = make_tls_transport(std::move(socket), *ssl);
    std::string error;
    if (!tls->prepare(transport->ssl(), t.host, &error)) {
      result.error = ClientError::kTlsFailed;
      result.detail = error;
      co_return nullptr;
    }
    Deadline d(io.get_executor(), deadline, [t = transport.get()] { t->close(); });
    co_await tls_handshake(*transport, false, ec);
    if (ec) {
      result.error = d.expired() ? ClientError::kTimeout : ClientError::kTlsFailed;
      auto why = core::tls_verify_error(transport->ssl());
      result.detail = why.empty() ? ec.message() : why;
      co_return nullptr;
    }
    co_return transport;
  }

  asio::awaitable<ClientResult> run(ClientRequest request) {
    auto keep = shared_from_this();
    ClientResult result;
    auto target = parse_target(request.url);
    if (!target) {
      result.error = ClientError::kBadUrl;
      result.detail = request.url;
      co_return result;
    }
    auto deadline = Clock::now() + request.timeout.value_or(options.request_timeout);
    auto k = key(*target);
    for (;;) {
      auto& origin = origins[k];
      if (origin.h2 && origin.h2->usable()) co_return co_await origin.h2->request(request, *target, deadline);
      if (origin.h2 && origin.h2->idle() && !origin.h2->usable()) origin.h2.reset();
      while (!origin.idle.empty()) {
        auto c = std::move(origin.idle.front());
        origin.idle.pop_front();
        if (c.transport->is_open() && Clock::now() - c.last_used < options.idle_timeout) {
          co_return co_await exchange_h1(std::move(c.transport), request, *target, deadline);
        }
      }
      if (!origin.connecting) break;
      // Another request is connecting and may bring an HTTP/2 connection
      // that this one can share: wait for it.
      auto w = std::make_shared<asio::steady_timer>(io);
      w->expires_at(deadline);
      origin.waiters.push_back(w);
      error_code ec;
      co_await w->async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (Clock::now() >= deadline) {
        result.error = ClientError::kTimeout;
        co_return result;
      }
    }
    bool may_be_h2 = target->scheme == "https" && options.http2;
    if (may_be_h2) origins[k].connecting = true;
    auto transport = co_await connect(*target, deadline, result);
    if (may_be_h2) {
      auto& origin = origins[k];
      origin.connecting = false;
      if (transport && core::tls_alpn_protocol(transport->ssl()) == "h2") {
        auto conn = std::make_shared<H2ClientConnection>(std::move(transport), options);
        conn->start();
        origin.h2 = conn;
        wake(origin);
        co_return co_await conn->request(request, *target, deadline);
      }
      wake(origin);
    }
    if (!transport) co_return result;
    co_return co_await exchange_h1(std::move(transport), request, *target, deadline);
  }

  asio::awaitable<ClientResult> exchange_h1(std::unique_ptr<Transport> transport,
                                            const ClientRequest& request, const RequestTarget& target,
                                            Clock::time_point deadline) {
    ClientResult result;
    result.version = Version::http1_1;
    Deadline d(io.get_executor(), deadline, [t = transport.get()] { t->close(); });
    std::string head = serialize_request(request, target);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(request.body)};
    error_code ec;
    co_await transport->write(buffers, ec);
    ResponseReader reader(options.max_response_header_bytes, options.max_response_body_bytes,
                          request.method == "HEAD");
    ResponseReader::Status status = ec ? ResponseReader::Status::kBad : reader.parse();
    while (!ec && status == ResponseReader::Status::kNeedMore) {
      auto n = co_await transport->read_some(reader.prepare(), ec);
      if (ec) {
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
          status = reader.finish_on_eof();
          if (status == ResponseReader::Status::kComplete) ec = {};
        }
        break;
      }
      reader.commit(n);
      status = reader.parse();
    }
    if (status != ResponseReader::Status::kComplete) {
      result.error = d.expired()                                   ? ClientError::kTimeout
                     : ec                                          ? ClientError::kConnectionClosed
                     : status == ResponseReader::Status::kTooLarge ? ClientError::kResponseTooLarge
                                                                   : ClientError::kProtocolError;
      if (ec) result.detail = ec.message();
      co_return result;
    }
    result.response = reader.take();
    if (reader.keep_alive() && transport->is_open() && !d.expired()) {
      auto& origin = origins[key(target)];
      if (origin.idle.size() < options.max_idle_per_origin)
        origin.idle.push_back({std::move(transport), Clock::now()});
    }
    co_return result;
  }

  void close() {
    for (auto& [k, o] : origins) {
      if (o.h2) o.h2->close();
      for (auto& c : o.idle) c.transport->close();
      o.idle.clear();
      o.h2.reset();
    }
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

void Client::close() {
  impl_->close();
}

std::size_t Client::connections_opened() const noexcept {
  return impl_->opened;
}

}  // namespace basalt::http
