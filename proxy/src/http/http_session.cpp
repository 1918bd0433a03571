// make_http_handler (http_session.hpp): one request from match to answer.
#include "http/http_session.hpp"

#include <fmt/format.h>

#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <chrono>
#include <regex>

#include "basalt/core/encoding.hpp"
#include "basalt/http/client.hpp"
#include "certs/challenge_board.hpp"
#include "http/backend_clients.hpp"
#include "http/forward_headers.hpp"
#include "http/request_context.hpp"
#include "http/websocket_keepalive.hpp"
#include "worker.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

std::string host_without_port(std::string_view authority) {
  if (authority.starts_with('[')) {
    auto end = authority.find(']');
    return std::string(end == std::string_view::npos ? authority : authority.substr(1, end - 1));
  }
  if (auto colon = authority.rfind(':'); colon != std::string_view::npos && authority.find(':') == colon) {
    authority = authority.substr(0, colon);
  }
  if (!authority.empty() && authority.back() == '.') authority.remove_suffix(1);
  std::string out(authority);
  for (auto& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

std::string url_host(std::string_view host) {
  return host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]" : std::string(host);
}

// One request's way through the proxy.
class Exchange {
 public:
  Exchange(HttpConnection& c, http::ServerRequest& req, http::ResponseWriter& res)
      : c_(c), w_(c.worker), req_(req), res_(res), started_(Clock::now()) {}

  asio::awaitable<void> run();

 private:
  // The proxy's own answer: set status_ and cause_ (and extra_), then
  // co_await answer(). (No arguments: g++ 12 mishandles temporaries in
  // awaited calls, docs/STYLE.md.)
  void fail(int status, std::string cause) {
    status_ = status;
    cause_ = std::move(cause);
  }
  asio::awaitable<void> answer();
  // HTTP-01 on the ACME port, ahead of every route: true when answered.
  asio::awaitable<bool> acme_challenge();
  asio::awaitable<void> socket_handler(const SocketHandler& h);
  asio::awaitable<void> forward();
  asio::awaitable<bool> relay_response(http::ClientStream& s, bool tunnel, bool h2_websocket);
  // A WebSocket tunnel with keep-alive pings, after its head went out.
  asio::awaitable<void> relay_with_pings(http::ClientStream& s);
  http::ClientRequest backend_request(const std::string& address_host, std::uint16_t port, bool tls);
  void log_done();

  HttpConnection& c_;
  Worker& w_;
  http::ServerRequest& req_;
  http::ResponseWriter& res_;
  Clock::time_point started_;
  std::shared_ptr<const RouteSet> routes_;
  const Route* route_ = nullptr;
  const RouteHttp* parts_ = nullptr;
  RequestContext ctx_;
  int status_ = 0;
  std::string backend_;
  std::string cause_;
  http::Headers extra_;                 // for answer()
  std::shared_ptr<http::Body> upload_;  // the request body towards the backend
  bool tunnel_dead_ = false;            // the keep-alive gave up on the tunnel
  // Set once a WebSocket tunnel with pings starts; the upload pump reads it.
  std::shared_ptr<std::shared_ptr<WebSocketKeepalive>> keepalive_ =
      std::make_shared<std::shared_ptr<WebSocketKeepalive>>();
  Clock::time_point head_at_{};                              // when the answer's head went out
  std::list<HttpConnection::InFlight>::iterator in_flight_;  // valid once routed
  struct Routed {
    Exchange& e;
    ~Routed() {
      if (e.parts_) e.c_.in_flight.erase(e.in_flight_);
    }
  } routed_{*this};
};

asio::awaitable<void> Exchange::answer() {
  const int status = status_;
  const std::string& cause = cause_;
  http::Response r;
  r.status = status;
  r.headers = std::move(extra_);
  r.headers.set("content-type", "text/plain; charset=utf-8");
  r.headers.set(routes_ ? routes_->http.request_id_header : "x-request-id", ctx_.request_id);
  r.body =
      fmt::format("{} {}: {}\nrequest id: {}\n", status, http::reason_phrase(status), cause, ctx_.request_id);
  head_at_ = Clock::now();
  if (status >= 500) {
    spdlog::warn("http {} {}{} from {}: {} {} (request id {})", req_.method, req_.authority, req_.path,
                 c_.client.address.to_string(), status, cause, ctx_.request_id);
  } else {
    spdlog::debug("http {} {}{} from {}: {} {} (request id {})", req_.method, req_.authority, req_.path,
                  c_.client.address.to_string(), status, cause, ctx_.request_id);
  }
  error_code ec;
  co_await res_.respond(std::move(r), ec);
}

asio::awaitable<bool> Exchange::acme_challenge() {
  constexpr std::string_view kPrefix = "/.well-known/acme-challenge/";
  if (!routes_->challenges || c_.port != routes_->acme_port || c_.terminated ||
      !req_.path.starts_with(kPrefix))
    co_return false;
  const std::string token = req_.path.substr(kPrefix.size());
  auto key_authorization = routes_->challenges->http01(ctx_.domain, token);
  if (!key_authorization) co_return false;  // not a challenge of ours: the routes decide
  http::Response r;
  r.status = 200;
  r.headers.set("content-type", "text/plain");
  r.body = std::move(*key_authorization);
  status_ = 200;
  head_at_ = Clock::now();
  spdlog::info("ACME: answered the http-01 challenge for {} (token {}) to {}", ctx_.domain, token,
               c_.client.address.to_string());
  error_code ec;
  co_await res_.respond(std::move(r), ec);
  log_done();
  co_return true;
}

asio::awaitable<void> Exchange::socket_handler(const SocketHandler& h) {
  http::Response r;
  r.status = h.status;
  switch (h.type) {
    case SocketHandlerType::kHttpRedirect:
      r.headers.set("location", expand(h.location, ctx_));
      break;
    case SocketHandlerType::kHttpBlock:
      r.body = h.body.empty() ? fmt::format("{} {}\n", h.status, http::reason_phrase(h.status))
                              : expand(h.body, ctx_);
      r.headers.set("content-type", "text/plain; charset=utf-8");
      break;
    case SocketHandlerType::kHttpStatic:
      r.body = expand(h.body, ctx_);
      for (const auto& [name, value] : h.headers) {
        if (value) r.headers.set(name, expand(*value, ctx_));
      }
      break;
    default:
      break;
  }
  for (const auto& [name, value] : route_->config.response_headers) {
    if (value) {
      r.headers.set(name, expand(*value, ctx_));
    } else {
      r.headers.erase(name);
    }
  }
  status_ = r.status;
  head_at_ = Clock::now();
  error_code ec;
  co_await res_.respond(std::move(r), ec);
}

http::ClientRequest Exchange::backend_request(const std::string& address_host, std::uint16_t port, bool tls) {
  const auto& config = route_->config;
  http::ClientRequest out;
  out.method = req_.method;
  std::string target = req_.target.empty() ? "/" : req_.target;
  if (parts_->rewrite) {
    const auto q = target.find('?');
    const std::string subject = config.action.url_rewrite->only_rewrite_path ? target.substr(0, q) : target;
    std::string rewritten =
        std::regex_replace(subject, *parts_->rewrite, expand(config.action.url_rewrite->target, ctx_),
                           std::regex_constants::format_first_only);
    if (rewritten.empty() || rewritten.front() != '/') rewritten.insert(0, "/");
    target = config.action.url_rewrite->only_rewrite_path && q != std::string::npos
                 ? rewritten + target.substr(q)
                 : rewritten;
  }
  // The URL names the TLS server (SNI, verification); the connection goes to
  // the chosen address; the client's Host is passed on.
  std::string name = address_host;
  if (tls) {
    const auto& b = config.action.tls->backend;
    name = !b.server_name.empty() ? b.server_name : !ctx_.domain.empty() ? ctx_.domain : address_host;
  }
  out.url = fmt::format("{}://{}:{}{}", tls ? "https" : "http", url_host(name), port, target);
  out.authority = req_.authority;
  out.headers = req_.headers;
  const bool upgrade = req_.headers.contains("upgrade");
  strip_hop_by_hop(out.headers, upgrade);
  const auto& settings = routes_->http;
  ForwardedFor who{c_.client.address, routes_->proxy_ips.matches(c_.client.address),
                   c_.terminated ? "https" : "http", req_.authority};
  add_forwarding(out.headers, who, settings, req_.version == http::Version::http2 ? "2" : "1.1");
  for (const auto& [field, value] : config.request_headers) {
    if (value) {
      out.headers.set(field, expand(*value, ctx_));
    } else {
      out.headers.erase(field);
    }
  }
  return out;
}

void Exchange::log_done() {
  const auto to_head = (head_at_ == Clock::time_point{} ? Clock::now() : head_at_) - started_;
  std::optional<RouteSlot> slot;
  if (route_ && routes_ && route_->position < routes_->slots.size()) slot = routes_->slots[route_->position];
  w_.metrics.request(slot, status_, std::chrono::duration_cast<std::chrono::microseconds>(to_head));
  if (!backend_.empty()) w_.metrics.set_upstream_connections(w_.backends.connections_opened());
  if (!routes_ || !routes_->http.access_log) return;
  // Built as JSON (not formatted): paths and hosts are the client's bytes.
  boost::json::object line;
  line["type"] = "access";
  line["requestId"] = ctx_.request_id;
  line["client"] = ctx_.client_ip;
  line["method"] = req_.method;
  line["host"] = req_.authority;
  line["path"] = req_.path;
  line["status"] = status_;
  line["route"] = route_ ? route_->id : std::string();
  line["backend"] = backend_;
  line["ms"] = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
  if (!cause_.empty()) line["error"] = cause_;
  spdlog::info("{}", boost::json::serialize(line));
}

asio::awaitable<void> Exchange::run() {
  routes_ = w_.routes.current();
  ctx_.request_id = w_.next_request_id();
  ctx_.port = c_.port;
  ctx_.domain = host_without_port(req_.authority);
  ctx_.client_ip = c_.client.address.to_string();
  ctx_.server_ip = c_.local.address.to_string();
  ctx_.method = req_.method;
  ctx_.path = req_.path;
  if (auto q = req_.target.find('?'); q != std::string::npos) ctx_.query = req_.target.substr(q + 1);
  ctx_.is_tls = c_.terminated;
  ctx_.tls_version = c_.tls_version;
  ctx_.connection_id = c_.id;
  if (co_await acme_challenge()) co_return;
  route_ = routes_->table->for_request(c_.port, c_.client.address, req_, c_.terminated);
  if (!route_ && c_.terminated) {
    const Route* by_sni = routes_->table->find(c_.route_id);
    if (by_sni && by_sni->config.enabled && by_sni->matches_request(ctx_.domain, req_, false))
      route_ = by_sni;
  }
  if (!route_) {
    fail(404, fmt::format("no route for host \"{}\" and path \"{}\"", ctx_.domain, req_.path));
    co_await answer();
    log_done();
    co_return;
  }
  parts_ = &routes_->route_http[route_->position];
  in_flight_ = c_.in_flight.insert(c_.in_flight.end(), {routes_->retirements[route_->position].get(), {}});
  ctx_.route_name = route_->config.name;
  ctx_.route_id = route_->id;
  if (!route_->allows_ip(c_.client.address)) {
    fail(403, "the client address is not allowed on route " + route_->id);
    co_await answer();
    log_done();
    co_return;
  }
  // Rate first, as nginx's limit_req runs before auth: failed guesses count.
  if (parts_->rate_limiter) {
    const auto& limit = parts_->rate_limiter->config();
    std::string key;
    switch (limit.key_by) {
      case RateLimitKey::kIp:
        key = ctx_.client_ip;
        break;
      case RateLimitKey::kPath:
        key = req_.path;
        break;
      case RateLimitKey::kHeader:
        key = std::string(req_.headers.get(limit.header_name).value_or(""));
        break;
    }
    auto decision = parts_->rate_limiter->allow(key);
    if (!decision.allowed) {
      extra_.set("retry-after", std::to_string(decision.retry_after.count()));
      fail(429, limit.error_message.empty() ? std::string("rate limit exceeded") : limit.error_message);
      co_await answer();
      log_done();
      co_return;
    }
  }
  if (parts_->basic_auth &&
      !parts_->basic_auth->allows(req_.path, req_.headers.get("authorization").value_or(""))) {
    extra_.set("www-authenticate", parts_->basic_auth->challenge());
    fail(401, "credentials required");
    co_await answer();
    log_done();
    co_return;
  }
  const auto& action = route_->config.action;
  if (action.type == ActionType::kSocketHandler) {
    co_await socket_handler(*action.socket_handler);
  } else {
    co_await forward();
  }
  log_done();
}

asio::awaitable<void> Exchange::forward() {
  const auto& action = route_->config.action;
  const bool extended_connect = req_.method == "CONNECT" && !req_.protocol.empty();
  const bool upgrade = req_.headers.contains("upgrade") || extended_connect;
  if (upgrade && !action.websocket.enabled) {
    fail(403, "WebSocket is disabled on route " + route_->id);
    co_await answer();
    co_return;
  }
  if (req_.method == "CONNECT" && !extended_connect) {
    fail(405, "CONNECT tunnels are not forwarded");
    co_await answer();
    co_return;
  }
  const bool tls = action.tls && action.tls->mode == TlsMode::kTerminateAndReencrypt;
  BackendProfile profile;
  profile.tls = tls;
  if (tls) profile.trust = action.tls->backend;
  profile.protocol = upgrade ? BackendProtocol::kHttp1 : action.backend_protocol;
  profile.connect_timeout = routes_->settings.connect_timeout;
  profile.response_timeout = routes_->http.backend_timeout;
  http::Client& client = w_.backends.get(profile);

  // The request body: streamed through when there is one.
  const bool has_body = !req_.body->done() || upgrade;
  std::shared_ptr<http::Body> upload;
  auto& pool = *parts_->pool;
  std::array<std::size_t, 2> tried{};
  std::size_t attempts = 0;
  http::ClientStream s;
  std::optional<BackendPool::Lease> lease;
  std::size_t chosen = 0;
  for (;;) {
    auto pick = pool.pick(c_.client.address, std::span<const std::size_t>(tried.data(), attempts));
    if (!pick) {
      if (attempts == 0) {
        fail(503, "no healthy backend on route " + route_->id);
      } else {
        fail(502, "backend " + cause_);  // and no other backend to retry on
      }
      co_await answer();
      co_return;
    }
    chosen = *pick;
    lease = pool.acquire(chosen);
    if (!lease) {
      // Full since pick() saw it: another backend, if there is one.
      tried[attempts++] = chosen;
      if (attempts < tried.size()) continue;
      fail(503, "the backends of route " + route_->id + " are at their pending-request limit");
      co_await answer();
      co_return;
    }
    const auto& b = pool.backend(chosen);
    const std::uint16_t port = b.port == 0 ? c_.port : b.port;
    std::string reason;
    auto addresses = co_await w_.resolver.resolve(b.host, reason);
    backend_ = fmt::format("{}:{}", url_host(b.host), port);
    ctx_.target_host = b.host;
    ctx_.target_port = port;
    if (addresses.empty()) {
      cause_ = b.host + ": " + reason;
      pool.report_failure(chosen);
    } else {
      auto request = backend_request(b.host, port, tls);
      request.connect_to = core::Endpoint{addresses.front(), port};
      if (extended_connect) {
        // RFC 8441 from the client; the backend gets an HTTP/1.1 Upgrade.
        request.method = "GET";
        request.headers.set("upgrade", req_.protocol);
        request.headers.set("connection", "upgrade");
        std::array<std::uint8_t, 16> nonce{};
        for (auto& byte : nonce) byte = static_cast<std::uint8_t>(w_.random());
        request.headers.set("sec-websocket-key", core::base64_encode(nonce));
      }
      if (has_body) {
        upload = std::make_shared<http::Body>(client.executor());
        request.body_stream = upload;
        upload_ = upload;
        asio::co_spawn(
            client.executor(),
            [from = req_.body, to = upload, keepalive = keepalive_]() -> asio::awaitable<void> {
              for (;;) {
                error_code ec;
                std::string chunk = co_await from->read(ec);
                if (ec) {
                  to->fail(ec);
                  co_return;
                }
                if (chunk.empty()) {
                  to->finish(from->trailers());
                  co_return;
                }
                if (*keepalive) {
                  // A tunnel with pings: through the frame tracker.
                  if (!co_await (*keepalive)->relay_up(chunk, ec)) {
                    from->abort(ec);
                    to->fail(ec);
                    co_return;
                  }
                  continue;
                }
                co_await to->write(chunk, ec);
                if (ec) {
                  from->abort(ec);
                  co_return;
                }
              }
            },
            asio::detached);
      }
      s = co_await client.open(request);
      if (s) break;
      cause_ =
          fmt::format("{}: {}{}", backend_, s.error.message(), s.detail.empty() ? "" : " (" + s.detail + ")");
      pool.report_failure(chosen);
      if (s.error == http::ClientError::kTimeout) {
        fail(504, "backend " + cause_);
        co_await answer();
        co_return;
      }
    }
    // One retry on another backend: after a connect failure, or for a safe
    // request without a body.
    const bool connect_failed = addresses.empty() || s.error == http::ClientError::kConnectFailed;
    const bool retryable = !has_body && (connect_failed || idempotent(req_.method));
    tried[attempts++] = chosen;
    lease.reset();
    if (!retryable || attempts >= 2) {
      fail(502, "backend " + cause_);
      co_await answer();
      co_return;
    }
    spdlog::debug("route {}: retrying on another backend after {}", route_->id, cause_);
  }

  if (s.head.status >= 500) {
    pool.report_failure(chosen);
  } else {
    pool.report_success(chosen);
  }
  const bool tunnel = s.head.status == 101 || (extended_connect && s.head.status / 100 == 2);
  co_await relay_response(s, tunnel, extended_connect);
}

asio::awaitable<bool> Exchange::relay_response(http::ClientStream& s, bool tunnel, bool h2_websocket) {
  http::ResponseHead head;
  head.status = s.head.status;
  head.headers = std::move(s.head.headers);
  strip_hop_by_hop(head.headers, tunnel && !h2_websocket);
  if (tunnel && h2_websocket) {
    head.status = 200;  // RFC 8441 §5: the 2xx of an extended CONNECT
    head.headers.erase("sec-websocket-accept");
  }
  for (const auto& [name, value] : route_->config.response_headers) {
    if (value) {
      head.headers.set(name, expand(*value, ctx_));
    } else {
      head.headers.erase(name);
    }
  }
  status_ = head.status;
  head_at_ = Clock::now();
  error_code ec;
  if (!tunnel && req_.version == http::Version::http2 && s.body->done() && s.body->trailers().empty()) {
    // A head that ended the stream (gRPC's trailers-only answer): one
    // HEADERS frame with END_STREAM on our side too.
    http::Response whole;
    whole.status = head.status;
    whole.headers = std::move(head.headers);
    co_await res_.respond(std::move(whole), ec);
    co_return !ec;
  }
  const auto& websocket = route_->config.action.websocket;
  const bool pings = tunnel && upload_ && websocket.ping_interval.count() > 0;
  if (pings) {
    auto executor = co_await asio::this_coro::executor;
    *keepalive_ = std::make_shared<WebSocketKeepalive>(
        executor, websocket, upload_, res_, [this](std::string_view why) {
          cause_ = std::string(why);
          tunnel_dead_ = true;
          spdlog::info("route {}: WebSocket closed: {} (request id {})", route_->id, why, ctx_.request_id);
        });
    in_flight_->keepalive = *keepalive_;
  }
  co_await res_.write_head(std::move(head), ec);
  if (ec) {
    s.body->abort();
    co_return false;
  }
  if (pings) {
    co_await relay_with_pings(s);
    co_return true;
  }
  for (;;) {
    std::string chunk = co_await s.body->read(ec);
    if (ec) {
      // The backend reset or timed out mid-body: the client sees a cut response.
      cause_ = "backend body: " + ec.message();
      res_.reset();
      co_return false;
    }
    if (chunk.empty()) break;
    co_await res_.write(chunk, ec);
    if (ec) {
      s.body->abort();
      co_return false;
    }
  }
  http::Headers trailers = s.body->trailers();
  co_await res_.finish(std::move(trailers), ec);
  co_return !ec;
}

asio::awaitable<void> Exchange::relay_with_pings(http::ClientStream& s) {
  using namespace asio::experimental::awaitable_operators;
  auto keepalive = *keepalive_;
  auto body = s.body;
  auto down = [keepalive, body]() -> asio::awaitable<void> {
    for (;;) {
      error_code ec;
      std::string chunk = co_await body->read(ec);
      if (ec || chunk.empty()) co_return;
      if (!co_await keepalive->relay_down(chunk, ec)) co_return;
    }
  };
  // Whichever ends first ends the other: the backend's bytes, or the pinger
  // (a side that did not answer, or broken framing).
  co_await (down() || keepalive->run());
  keepalive->stop();
  if (tunnel_dead_) {
    body->abort();
    upload_->fail(make_error_code(http::BodyError::kReset));
    res_.reset();
    co_return;
  }
  error_code ec;
  http::Headers none;
  co_await res_.finish(std::move(none), ec);
}

}  // namespace

std::chrono::steady_clock::time_point HttpConnection::retired_at() const {
  auto at = std::chrono::steady_clock::time_point::max();
  for (const auto& f : in_flight) at = std::min(at, f.route->deadline());
  return at;
}

bool HttpConnection::go_away() {
  bool any = false;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& f : in_flight) {
    if (f.route->deadline() > now) continue;
    if (auto k = f.keepalive.lock()) {
      k->go_away();
      any = true;
    }
  }
  return any;
}

std::shared_ptr<const http::StreamHandler> make_http_handler(std::shared_ptr<HttpConnection> connection) {
  return std::make_shared<const http::StreamHandler>(
      [connection](http::ServerRequest request, http::ResponseWriter& writer) -> asio::awaitable<void> {
        Exchange exchange(*connection, request, writer);
        co_await exchange.run();
      });
}

}  // namespace basalt::proxy
