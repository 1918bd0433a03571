// One client connection from accept to close: route decision (at accept, or
// on the ClientHello), admission, backend connection, TLS, relay. A watchdog
// on the connection's one timer enforces the phase's timeout
// (initialDataTimeout while the client's first bytes or handshake are
// awaited, connectTimeout per backend attempt), then inactivityTimeout and
// maxConnectionLifetime while relaying, by closing the sockets.
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>

#include "basalt/acme/tls_alpn_certificate.hpp"
#include "basalt/core/ip_asio.hpp"
#include "basalt/core/tls.hpp"
#include "certs/auto_certificates.hpp"
#include "certs/challenge_board.hpp"
#include "http/http_session.hpp"
#include "http/stream_transport.hpp"
#include "l4/byte_stream.hpp"
#include "l4/client_hello.hpp"
#include "l4/proxy_header.hpp"
#include "l4/relay.hpp"
#include "l4/tls_stream.hpp"
#include "worker.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// Bytes kept while reading a ClientHello: the hello itself plus the record
// headers of a hello split into many small records.
constexpr std::size_t kMaxPrefix = ClientHelloReader::kMaxHelloBytes + 32 * 1024;

// kHttp: the http/ sessions enforce their own timeouts; only
// maxConnectionLifetime is the watchdog's.
enum class Phase { kFirstBytes, kConnect, kHandshake, kRelay, kHttp, kDone };

struct Connection {
  Connection(Worker& w, tcp::socket s, std::uint16_t p)
      : worker(w), client_socket(std::move(s)), port(p), timer(w.io), opened(Clock::now()) {}

  Worker& worker;
  tcp::socket client_socket;
  std::uint16_t port;
  asio::steady_timer timer;
  Clock::time_point opened;
  std::shared_ptr<const RouteSet> routes;
  core::Endpoint client;
  core::Endpoint local;  // the address the client connected to

  std::unique_ptr<ByteStream> client_stream;
  std::optional<tcp::socket> backend_socket;
  std::unique_ptr<ByteStream> backend_stream;

  http::Transport* http_transport = nullptr;  // while served as HTTP
  std::shared_ptr<HttpConnection> http;       // while served as HTTP: its in-flight requests
  // The route the connection was matched to (L4: what it carries); its
  // deadline once an update removed it (drainGrace).
  const RouteRetirement* retirement = nullptr;
  bool retiring = false;                            // the grace passed; closing cleanly
  std::optional<BackendPool::Lease> backend_lease;  // counts the connection on its backend

  Phase phase = Phase::kFirstBytes;
  Clock::time_point phase_deadline{};
  Clock::time_point lifetime_end{};
  bool timed_out = false;
  Traffic traffic;

  void set_phase(Phase p, Clock::time_point deadline) {
    phase = p;
    phase_deadline = deadline;
    timer.cancel();  // the watchdog re-arms for the new deadline
  }
  Clock::time_point deadline() const {
    if (phase == Phase::kHttp) return std::min(lifetime_end, retired_at());
    auto end =
        phase == Phase::kRelay ? traffic.last_activity + routes->settings.inactivity_timeout : phase_deadline;
    return std::min({end, lifetime_end, retired_at()});
  }
  // When what this connection carries belongs to a removed route past its
  // grace: HTTP by its in-flight requests and tunnels (new requests match
  // the new table), everything else by the route it matched.
  Clock::time_point retired_at() const {
    if (phase == Phase::kHttp) return http ? http->retired_at() : Clock::time_point::max();
    return retirement ? retirement->deadline() : Clock::time_point::max();
  }
  // FIN towards both peers, then close: the end of a drained connection.
  void close_gracefully() noexcept {
    boost::system::error_code ignored;
    for (auto* s :
         {client_stream ? &client_stream->socket() : &client_socket,
          backend_stream ? &backend_stream->socket() : (backend_socket ? &*backend_socket : nullptr)}) {
      if (s && s->is_open()) s->shutdown(tcp::socket::shutdown_send, ignored);
    }
    close_all();
  }
  void close_all() noexcept {
    boost::system::error_code ignored;
    if (http_transport) http_transport->close();
    if (client_stream) client_stream->close();
    client_socket.close(ignored);
    if (backend_stream) backend_stream->close();
    if (backend_socket) backend_socket->close(ignored);
  }
};

// How long WebSockets the proxy pings get for their Close frames before a
// drained connection is closed.
constexpr auto kCloseFrameWait = std::chrono::seconds(1);

asio::awaitable<void> watchdog(std::shared_ptr<Connection> c) {
  auto& watchdogs = c->worker.watchdogs;
  watchdogs.insert(&c->timer);
  struct Unregister {
    std::unordered_set<asio::steady_timer*>& set;
    asio::steady_timer* timer;
    ~Unregister() { set.erase(timer); }
  } unregister{watchdogs, &c->timer};
  for (;;) {
    if (c->phase == Phase::kDone) co_return;
    c->timer.expires_at(c->deadline());
    co_await c->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (c->phase == Phase::kDone) co_return;
    const auto now = Clock::now();
    if (now < c->deadline()) continue;
    if (now >= c->retired_at()) {
      // drainGrace is over for a removed route.
      if (c->phase == Phase::kHttp && !c->retiring && c->http && c->http->go_away()) {
        c->retiring = true;  // WebSockets send their Close frames first
        c->timer.expires_after(kCloseFrameWait);
        co_await c->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (c->phase == Phase::kDone || now >= c->lifetime_end ||
            c->http->retired_at() == Clock::time_point::max())
          continue;
      }
      c->retiring = true;
      c->close_gracefully();
      co_return;
    }
    c->timed_out = true;
    c->close_all();
    co_return;
  }
}

// A fatal TLS alert in a plaintext record (the handshake has not begun).
void send_alert(tcp::socket& socket, std::uint8_t description) {
  const std::array<std::uint8_t, 7> alert{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description};
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.send(asio::buffer(alert), 0, ignored);
}

constexpr std::uint8_t kAlertHandshakeFailure = 40;
constexpr std::uint8_t kAlertUnrecognizedName = 112;

void report_bytes(void* lease, std::uint64_t in, std::uint64_t out) {
  static_cast<ConnectionLease*>(lease)->bytes(in, out);
}

// ALPN wire format (length-prefixed names) of a list.
std::string alpn_wire(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (n.empty() || n.size() > 255) continue;
    out.push_back(static_cast<char>(n.size()));
    out += n;
  }
  return out;
}

class Session {
 public:
  explicit Session(std::shared_ptr<Connection> c) : c_(std::move(c)), w_(c_->worker) {}

  asio::awaitable<void> run();

 private:
  // acceptProxyProtocol, from a proxyIPs peer: the header, which sets the
  // client (bytes after it stay in prefix_).
  asio::awaitable<bool> read_proxy_header();
  // acceptProxyProtocol, from any other peer, where its first bytes are
  // read anyway: refuses a PROXY header.
  asio::awaitable<bool> refuse_untrusted_header();
  // The PROXY header to the backend, when the route sends one.
  asio::awaitable<bool> send_proxy_header();
  asio::awaitable<bool> read_first_bytes();
  asio::awaitable<bool> connect_backend();
  asio::awaitable<bool> start_backend_tls();
  asio::awaitable<bool> terminate_client_tls(const std::string* alpn_choice);
  asio::awaitable<void> echo();
  asio::awaitable<void> serve_admitted();
  // After termination: does the stream speak HTTP? ALPN says so, or its
  // first bytes are an HTTP/1.x request line (read into `initial`).
  asio::awaitable<std::optional<http::ConnectionServer::Protocol>> sniff_http(std::string& initial);
  asio::awaitable<void> serve_http(http::ConnectionServer::Protocol protocol, std::string initial);
  // A hello offering acme-tls/1 for a name with a pending tls-alpn-01
  // challenge: the validation handshake (RFC 8737), then close.
  asio::awaitable<bool> answer_tls_alpn();
  // certificate: auto before its first certificate: unrecognized_name.
  bool refuse_pending_certificate();
  void refuse(RefuseReason reason, std::string_view detail = {}) {
    w_.core.refused(w_.index, reason, detail, c_->client.address);
    close_reason_ = to_string(reason);
  }

  std::shared_ptr<Connection> c_;
  Worker& w_;
  const Route* route_ = nullptr;
  std::vector<std::uint8_t> prefix_;
  ClientHello hello_;
  bool is_tls_ = false;
  std::string backend_alpn_;
  std::string close_reason_ = "closed";
  ProxyHeader received_;                 // what the proxy in front said (acceptProxyProtocol)
  bool untrusted_header_check_ = false;  // a peer not in proxyIPs, while its first bytes are unread
};

asio::awaitable<bool> Session::read_proxy_header() {
  // Within initialDataTimeout of the accept.
  c_->set_phase(Phase::kFirstBytes, c_->opened + c_->routes->settings.initial_data_timeout);
  prefix_.reserve(4096);
  for (;;) {
    auto parsed = parse_proxy_header(prefix_);
    if (parsed.status == ProxyHeaderStatus::kInvalid) {
      refuse(RefuseReason::kBadProxyHeader, parsed.error);
      co_return false;
    }
    if (parsed.status == ProxyHeaderStatus::kDone) {
      prefix_.erase(prefix_.begin(), prefix_.begin() + static_cast<std::ptrdiff_t>(parsed.size));
      received_ = std::move(parsed.header);
      if (received_.source) {
        spdlog::debug("PROXY v{} from {}: client {}", received_.version, c_->client.to_string(),
                      received_.source->to_string());
        c_->client = *received_.source;
        c_->local = *received_.destination;
      }
      co_return true;
    }
    const std::size_t old = prefix_.size();
    prefix_.resize(old + 4096);
    auto buf = asio::buffer(prefix_.data() + old, 4096);
    auto [ec, n] = co_await c_->client_socket.async_read_some(buf, asio::as_tuple(asio::use_awaitable));
    prefix_.resize(old + n);
    if (ec) {
      if (c_->timed_out) refuse(RefuseReason::kInitialDataTimeout, "no PROXY header");
      co_return false;
    }
  }
}

asio::awaitable<bool> Session::refuse_untrusted_header() {
  if (!untrusted_header_check_) co_return true;
  c_->set_phase(Phase::kFirstBytes, Clock::now() + c_->routes->settings.initial_data_timeout);
  prefix_.reserve(4096);
  for (;;) {
    switch (detect_proxy_header(prefix_)) {
      case ProxyHeaderStatus::kDone:
        refuse(RefuseReason::kUntrustedProxyHeader);
        co_return false;
      case ProxyHeaderStatus::kInvalid:
        untrusted_header_check_ = false;
        co_return true;
      case ProxyHeaderStatus::kNeedMore:
        break;
    }
    const std::size_t old = prefix_.size();
    prefix_.resize(old + 4096);
    auto buf = asio::buffer(prefix_.data() + old, 4096);
    auto [ec, n] = co_await c_->client_socket.async_read_some(buf, asio::as_tuple(asio::use_awaitable));
    prefix_.resize(old + n);
    if (ec) {
      if (c_->timed_out) refuse(RefuseReason::kInitialDataTimeout);
      co_return false;
    }
  }
}

asio::awaitable<bool> Session::send_proxy_header() {
  const auto& action = route_->config.action;
  if (!action.send_proxy_protocol.value_or(false)) co_return true;
  ProxyHeader header;
  header.source = c_->client;
  header.destination = c_->local;
  // What this proxy knows of the client's TLS, else what the proxy in front said.
  header.authority = hello_.server_name.empty() ? received_.authority : hello_.server_name;
  if (c_->client_stream) {  // terminated
    auto* ssl = static_cast<TlsStream*>(c_->client_stream.get())->native();
    header.alpn = core::tls_alpn_protocol(ssl);
    // verify is 0 only for a verified client certificate; none is asked for.
    header.ssl = ProxySsl{.client = ProxySsl::kClientSsl,
                          .verify = 1,
                          .sub = {{ProxySsl::kSubtypeVersion, SSL_get_version(ssl)},
                                  {ProxySsl::kSubtypeCipher, SSL_get_cipher_name(ssl)}}};
  } else if (action.tls && action.tls->mode == TlsMode::kTerminateAndReencrypt) {
    // The client's handshake follows the backend's (ALPN): TLS, details unknown yet.
    header.ssl = ProxySsl{.client = ProxySsl::kClientSsl, .verify = 1, .sub = {}};
  } else {
    header.alpn = received_.alpn;
    header.ssl = received_.ssl;
  }
  const std::string bytes = write_proxy_header(action.proxy_protocol_version.value_or(2), header);
  auto [ec, n] = co_await asio::async_write(*c_->backend_socket, asio::buffer(bytes),
                                            asio::as_tuple(asio::use_awaitable));
  if (ec) {
    refuse(RefuseReason::kBackendConnectFailed, "PROXY header: " + ec.message());
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> Session::read_first_bytes() {
  if (!co_await refuse_untrusted_header()) co_return false;
  auto& s = c_->routes->settings;
  c_->set_phase(Phase::kFirstBytes, Clock::now() + s.initial_data_timeout);
  ClientHelloReader reader;
  prefix_.reserve(4096);
  // Bytes already read (after a PROXY header, or by the check above) first.
  bool pending = !prefix_.empty();
  for (;;) {
    std::size_t old = pending ? 0 : prefix_.size();
    if (pending) {
      pending = false;
    } else {
      if (old >= kMaxPrefix) {
        refuse(RefuseReason::kBadClientHello, "ClientHello too large");
        co_return false;
      }
      prefix_.resize(std::min(kMaxPrefix, std::max<std::size_t>(old + 4096, prefix_.capacity())));
      auto buf = asio::buffer(prefix_.data() + old, prefix_.size() - old);
      auto [ec, n] = co_await c_->client_socket.async_read_some(buf, asio::as_tuple(asio::use_awaitable));
      prefix_.resize(old + n);
      if (ec) {
        if (c_->timed_out) refuse(RefuseReason::kInitialDataTimeout);
        co_return false;
      }
    }
    std::span<const std::uint8_t> fresh(prefix_.data() + old, prefix_.size() - old);
    switch (reader.feed(fresh)) {
      case ClientHelloReader::Result::kNeedMore:
        continue;
      case ClientHelloReader::Result::kDone:
        hello_ = reader.hello();
        is_tls_ = true;
        co_return true;
      case ClientHelloReader::Result::kNotTls:
        is_tls_ = false;
        co_return true;
      case ClientHelloReader::Result::kMalformed:
        refuse(RefuseReason::kBadClientHello, "malformed ClientHello");
        send_alert(c_->client_socket, 50 /* decode_error */);
        co_return false;
      case ClientHelloReader::Result::kTooLarge:
        refuse(RefuseReason::kBadClientHello, "ClientHello too large");
        send_alert(c_->client_socket, 50);
        co_return false;
    }
  }
}

asio::awaitable<bool> Session::connect_backend() {
  // The route's pool picks a backend (its algorithm, health and limits); a
  // connect failure is retried once on another backend, as for HTTP.
  const BackendPool& pool = *c_->routes->route_http[route_->position].pool;
  std::array<std::size_t, 2> tried{};
  std::size_t attempts = 0;
  std::string last_error = "no available backend";
  while (attempts < tried.size()) {
    auto pick = pool.pick(c_->client.address, std::span<const std::size_t>(tried.data(), attempts));
    if (!pick) break;
    tried[attempts++] = *pick;
    auto lease = pool.acquire(*pick);
    if (!lease) {
      last_error = "every backend is at its pending-request limit";
      continue;
    }
    const auto& backend = pool.backend(*pick);
    const std::uint16_t port = backend.port == 0 ? c_->port : backend.port;
    std::string reason;
    auto addresses = co_await w_.resolver.resolve(backend.host, reason);
    if (addresses.empty()) last_error = backend.host + ": " + reason;
    for (const auto& address : addresses) {
      tcp::endpoint at(core::to_asio(address), port);
      c_->backend_socket.emplace(w_.io);
      c_->set_phase(Phase::kConnect, Clock::now() + c_->routes->settings.connect_timeout);
      auto [ec] = co_await c_->backend_socket->async_connect(at, asio::as_tuple(asio::use_awaitable));
      if (!ec) {
        boost::system::error_code ignored;
        c_->backend_socket->set_option(tcp::no_delay(true), ignored);
        pool.report_success(*pick);
        c_->backend_lease = std::move(lease);
        co_return true;
      }
      if (c_->timed_out) {
        last_error = core::Endpoint{address, port}.to_string() + ": timed out";
        c_->timed_out = false;
      } else {
        last_error = core::Endpoint{address, port}.to_string() + ": " + ec.message();
      }
      c_->backend_socket.reset();
      if (!c_->client_socket.is_open() && !c_->client_stream) co_return false;
    }
    pool.report_failure(*pick);
  }
  spdlog::warn("route {}: no backend reachable for {} ({})", route_->id, c_->client.to_string(), last_error);
  refuse(RefuseReason::kBackendConnectFailed, last_error);
  co_return false;
}

asio::awaitable<bool> Session::start_backend_tls() {
  const auto& tls = *route_->config.action.tls;
  auto& ctx = *c_->routes->tls[route_->position].backend;
  auto stream = TlsStream::client(ctx.native_handle(), std::move(*c_->backend_socket));
  c_->backend_socket.reset();
  std::string name = tls.backend.server_name;
  if (name.empty()) name = hello_.server_name;
  if (name.empty()) name = route_->config.action.targets.front().host.front();
  std::string error;
  if (!ctx.prepare(stream->native(), name, &error)) {
    refuse(RefuseReason::kBackendTlsFailed, error);
    co_return false;
  }
  if (auto wire = alpn_wire(hello_.alpn); !wire.empty()) {
    SSL_set_alpn_protos(stream->native(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  auto* raw = stream.get();
  c_->backend_stream = std::move(stream);
  c_->set_phase(Phase::kHandshake, Clock::now() + c_->routes->settings.connect_timeout);
  boost::system::error_code ec;
  co_await raw->handshake(ec);
  if (ec) {
    auto reason = c_->timed_out ? std::string("timed out") : raw->reason();
    spdlog::warn("route {}: TLS to the backend failed: {}", route_->id, reason);
    refuse(RefuseReason::kBackendTlsFailed, reason);
    co_return false;
  }
  backend_alpn_ = core::tls_alpn_protocol(raw->native());
  co_return true;
}

asio::awaitable<bool> Session::terminate_client_tls(const std::string* alpn_choice) {
  auto& ctx = *c_->routes->tls[route_->position].server;
  auto stream = TlsStream::server(ctx.native_handle(), std::move(c_->client_socket), std::move(prefix_));
  prefix_.clear();
  if (alpn_choice) SSL_set_app_data(stream->native(), const_cast<std::string*>(alpn_choice));
  auto* raw = stream.get();
  c_->client_stream = std::move(stream);
  c_->set_phase(Phase::kHandshake, Clock::now() + c_->routes->settings.initial_data_timeout);
  boost::system::error_code ec;
  co_await raw->handshake(ec);
  if (ec) {
    auto reason = c_->timed_out ? std::string("timed out") : raw->reason();
    spdlog::debug("route {}: TLS handshake with {} failed: {}", route_->id, c_->client.to_string(), reason);
    refuse(RefuseReason::kTlsHandshakeFailed, reason);
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> Session::echo() {
  auto& stream = *c_->client_stream;
  c_->set_phase(Phase::kRelay, {});
  c_->traffic.last_activity = Clock::now();
  boost::system::error_code ec;
  if (!prefix_.empty()) {
    std::span<const std::uint8_t> first(prefix_);
    co_await stream.write_all(first, ec);
    c_->traffic.add(prefix_.size(), prefix_.size());
  }
  std::array<std::uint8_t, 16 * 1024> buffer;
  while (!ec) {
    std::span<std::uint8_t> whole(buffer);
    std::size_t n = co_await stream.read_some(whole, ec);
    if (ec || n == 0) break;
    std::span<const std::uint8_t> chunk(buffer.data(), n);
    co_await stream.write_all(chunk, ec);
    c_->traffic.add(n, n);
  }
}

// True when `bytes` start like an HTTP/1.x request line: a method token
// (upper-case letters) and a space.
bool looks_like_request_line(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && i < 16 && bytes[i] >= 'A' && bytes[i] <= 'Z') ++i;
  return i > 0 && i < bytes.size() && bytes[i] == ' ';
}

asio::awaitable<std::optional<http::ConnectionServer::Protocol>> Session::sniff_http(std::string& initial) {
  using Protocol = http::ConnectionServer::Protocol;
  auto* tls = static_cast<TlsStream*>(c_->client_stream.get());
  const std::string alpn = core::tls_alpn_protocol(tls->native());
  if (alpn == "h2") co_return Protocol::kHttp2;
  if (alpn == "http/1.1") co_return Protocol::kHttp1;
  if (route_->http) co_return Protocol::kDetect;
  // No ALPN: the first bytes decide. A client that waits for the server to
  // speak first is not HTTP: after initialDataTimeout it is relayed.
  c_->set_phase(Phase::kHttp, {});
  asio::steady_timer wait(w_.io);
  wait.expires_after(c_->routes->settings.initial_data_timeout);
  bool waited_out = false;
  wait.async_wait([&waited_out, tls](const boost::system::error_code& e) {
    if (e) return;
    waited_out = true;
    boost::system::error_code ignored;
    tls->socket().cancel(ignored);
  });
  std::array<std::uint8_t, 4096> buffer;
  boost::system::error_code ec;
  std::span<std::uint8_t> whole(buffer);
  const std::size_t n = co_await tls->read_some(whole, ec);
  wait.cancel();
  if (ec && !waited_out) {
    tls->close();  // the client went away or broke TLS
    co_return std::nullopt;
  }
  initial.assign(reinterpret_cast<const char*>(buffer.data()), n);
  if (looks_like_request_line(initial)) co_return Protocol::kHttp1;
  co_return std::nullopt;
}

asio::awaitable<void> Session::serve_http(http::ConnectionServer::Protocol protocol, std::string initial) {
  auto connection =
      std::make_shared<HttpConnection>(HttpConnection{.worker = w_, .port = c_->port, .client = c_->client});
  connection->local = c_->local;
  connection->id = ++w_.connections;
  if (route_) connection->route_id = route_->id;
  ssl_st* ssl = nullptr;
  if (c_->client_stream) {
    ssl = static_cast<TlsStream*>(c_->client_stream.get())->native();
    connection->terminated = true;
    connection->sni = hello_.server_name;
    connection->tls_version = SSL_get_version(ssl);
  } else {
    c_->client_stream = std::make_unique<PlainStream>(std::move(c_->client_socket));
    if (!prefix_.empty()) initial.insert(0, reinterpret_cast<const char*>(prefix_.data()), prefix_.size());
    prefix_ = {};
  }
  auto transport = make_stream_transport(std::move(c_->client_stream), ssl, c_->traffic);
  c_->http_transport = transport.get();
  c_->http = connection;
  c_->set_phase(Phase::kHttp, {});
  co_await w_.http_server.serve(std::move(transport), c_->client, make_http_handler(std::move(connection)),
                                protocol, std::move(initial));
  c_->http_transport = nullptr;
  if (c_->retiring) {
    close_reason_ = "route_removed";
  } else if (c_->timed_out) {
    close_reason_ = "lifetime";
  }
}

asio::awaitable<bool> Session::answer_tls_alpn() {
  if (!is_tls_ || !c_->routes->challenges || hello_.server_name.empty()) co_return false;
  if (std::find(hello_.alpn.begin(), hello_.alpn.end(), acme::kAcmeTlsAlpn) == hello_.alpn.end())
    co_return false;
  auto ctx = c_->routes->challenges->tls_alpn(hello_.server_name);
  if (!ctx) co_return false;  // not ours: a backend behind passthrough may be validating
  auto stream = TlsStream::server(ctx->native_handle(), std::move(c_->client_socket), std::move(prefix_));
  prefix_.clear();
  auto* raw = stream.get();
  c_->client_stream = std::move(stream);
  c_->set_phase(Phase::kHandshake, Clock::now() + c_->routes->settings.initial_data_timeout);
  boost::system::error_code ec;
  co_await raw->handshake(ec);
  spdlog::info("ACME: tls-alpn-01 validation handshake for {} from {}: {}", hello_.server_name,
               c_->client.to_string(), ec ? raw->reason() : std::string("done"));
  co_return true;
}

bool Session::refuse_pending_certificate() {
  const auto& auto_cert = c_->routes->tls[route_->position].auto_certificate;
  if (!auto_cert || auto_cert->ready()) return false;
  send_alert(c_->client_socket, kAlertUnrecognizedName);
  // One line per second per worker at most: a client retrying in a loop
  // must not flood the log.
  const auto now = Clock::now();
  if (now - w_.last_certificate_warning >= std::chrono::seconds(1)) {
    w_.last_certificate_warning = now;
    spdlog::warn(
        "route {}: no certificate for \"{}\" yet ({}): handshake from {} refused (unrecognized_name)",
        route_->id, hello_.server_name, auto_cert->why_not_ready(), c_->client.to_string());
  }
  refuse(RefuseReason::kCertificatePending, hello_.server_name);
  return true;
}

asio::awaitable<void> Session::serve_admitted() {
  boost::system::error_code ec;
  const auto& action = route_->config.action;
  const auto mode = action.tls ? std::optional<TlsMode>(action.tls->mode) : std::nullopt;
  const bool terminates = mode && *mode != TlsMode::kPassthrough;
  using Protocol = http::ConnectionServer::Protocol;

  // A terminating route that sends a PROXY header relays bytes (not HTTP).
  const bool sends_header = action.send_proxy_protocol.value_or(false);
  if (route_->http && !terminates) {
    // A plain port with HTTP routes: every request is matched on its own.
    if (!co_await refuse_untrusted_header()) co_return;
    co_await serve_http(Protocol::kDetect, {});
    co_return;
  }
  if (terminates && ((mode == TlsMode::kTerminate && !sends_header) || route_->http)) {
    if (!co_await terminate_client_tls(nullptr)) co_return;
    std::string initial;
    if (auto protocol = co_await sniff_http(initial)) {
      co_await serve_http(*protocol, std::move(initial));
      co_return;
    }
    if (!c_->client_stream || !c_->client_stream->socket().is_open()) co_return;
    // Not HTTP: relayed as bytes, the first of them included.
    prefix_.assign(initial.begin(), initial.end());
  }

  if (action.type == ActionType::kSocketHandler) {
    if (action.socket_handler->type == SocketHandlerType::kBlock) {
      close_reason_ = "blocked";
    } else {
      if (terminates) {
        if (!c_->client_stream && !co_await terminate_client_tls(nullptr)) co_return;
      } else {
        c_->client_stream = std::make_unique<PlainStream>(std::move(c_->client_socket));
      }
      co_await echo();
    }
  } else {
    if (mode == TlsMode::kTerminate && !c_->client_stream) {
      if (!co_await terminate_client_tls(nullptr)) co_return;
    }
    if (!co_await connect_backend()) co_return;
    if (!co_await send_proxy_header()) co_return;
    if (mode == TlsMode::kTerminateAndReencrypt) {
      if (!co_await start_backend_tls()) co_return;
      if (!co_await terminate_client_tls(&backend_alpn_)) co_return;
    } else {
      c_->backend_stream = std::make_unique<PlainStream>(std::move(*c_->backend_socket));
      c_->backend_socket.reset();
    }
    if (!c_->client_stream) c_->client_stream = std::make_unique<PlainStream>(std::move(c_->client_socket));
    if (!prefix_.empty()) {
      // Passthrough or plain TCP after a sniff: the client's first bytes, unchanged.
      std::span<const std::uint8_t> first(prefix_);
      co_await c_->backend_stream->write_all(first, ec);
      if (ec) co_return;
      c_->traffic.add(prefix_.size(), 0);
      prefix_ = {};
    }
    c_->set_phase(Phase::kRelay, {});
    c_->traffic.last_activity = Clock::now();
    co_await relay(*c_->client_stream, *c_->backend_stream, w_.pipes, c_->traffic);
    if (c_->retiring) {
      close_reason_ = "route_removed";
    } else if (c_->timed_out) {
      close_reason_ = Clock::now() >= c_->lifetime_end ? "lifetime" : "inactivity";
    }
  }
}

asio::awaitable<void> Session::run() {
  if (w_.core.draining()) {
    refuse(RefuseReason::kShuttingDown);
    co_return;
  }
  boost::system::error_code ec;
  auto remote = c_->client_socket.remote_endpoint(ec);
  if (ec) co_return;
  c_->client = core::Endpoint{core::from_asio(remote.address()), remote.port()};
  auto local = c_->client_socket.local_endpoint(ec);
  if (!ec) c_->local = core::Endpoint{core::from_asio(local.address()), local.port()};
  c_->client_socket.set_option(tcp::no_delay(true), ec);
  c_->routes = w_.routes.current();
  c_->lifetime_end = c_->opened + c_->routes->settings.max_connection_lifetime;
  c_->phase_deadline = c_->opened + c_->routes->settings.initial_data_timeout;
  asio::co_spawn(w_.io, watchdog(c_), asio::detached);
  if (c_->routes->settings.accept_proxy_protocol) {
    if (c_->routes->proxy_ips.matches(c_->client.address)) {
      if (!co_await read_proxy_header()) co_return;
    } else {
      untrusted_header_check_ = true;
    }
  }

  const auto& table = *c_->routes->table;
  auto decision = table.at_accept(c_->port, c_->client.address);
  route_ = decision.route;
  if (!route_ && !decision.read_hello && c_->port == c_->routes->acme_port) {
    // The ACME port without a route of its own: HTTP-01 answers only.
    co_await serve_http(http::ConnectionServer::Protocol::kHttp1, {});
    co_return;
  }
  if (!route_ && !decision.read_hello) {
    bool has_routes = std::binary_search(table.ports().begin(), table.ports().end(), c_->port);
    refuse(has_routes ? RefuseReason::kNoRoute : RefuseReason::kPortWithoutRoute);
    co_return;
  }
  if (decision.read_hello) {
    if (!co_await read_first_bytes()) co_return;
    if (co_await answer_tls_alpn()) co_return;
    route_ = table.after_hello(c_->port, c_->client.address, is_tls_ ? &hello_ : nullptr);
    if (!route_) {
      if (is_tls_)
        send_alert(c_->client_socket,
                   hello_.server_name.empty() ? kAlertHandshakeFailure : kAlertUnrecognizedName);
      refuse(RefuseReason::kNoRoute, hello_.server_name);
      co_return;
    }
  }
  if (!route_->allows_ip(c_->client.address)) {
    refuse(RefuseReason::kIpBlocked, route_->id);
    co_return;
  }
  if (refuse_pending_certificate()) co_return;
  c_->retirement = c_->routes->retirements[route_->position].get();
  auto lease = w_.core.admit(w_.index, *c_->routes, *route_, c_->client, c_->port);
  if (!lease) co_return;
  c_->traffic.report = report_bytes;
  c_->traffic.report_context = lease.get();

  co_await serve_admitted();
  auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - c_->opened);
  w_.core.closed(w_.index, *route_, c_->client, c_->port, c_->traffic.from_client, c_->traffic.to_client,
                 duration, close_reason_);
}

asio::awaitable<void> serve(std::shared_ptr<Connection> c) {
  auto token = c->worker.core.hold();
  try {
    Session session(c);
    co_await session.run();
  } catch (const std::exception& e) {
    spdlog::error("proxy connection from {}: {}", c->client.to_string(), e.what());
  }
  c->phase = Phase::kDone;
  c->timer.cancel();
  c->close_all();
}

}  // namespace

void serve_connection(Worker& worker, tcp::socket socket, std::uint16_t port) {
  auto c = std::make_shared<Connection>(worker, std::move(socket), port);
  asio::co_spawn(worker.io, serve(std::move(c)), asio::detached);
}

}  // namespace basalt::proxy
