#include "udp/udp_worker.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>

#include "basalt/core/ip_asio.hpp"
#include "udp/udp_listener_socket.hpp"
#include "udp/udp_routes.hpp"
#include "worker.hpp"

namespace basalt::proxy {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// Batches read from one socket before the others get their turn.
constexpr int kRounds = 16;
constexpr auto kSweepInterval = std::chrono::milliseconds(250);
// While draining: a session idle this long has had its answers.
constexpr auto kDrainIdle = std::chrono::seconds(1);

UdpDrop drop_of(LimitRefusal refusal) {
  switch (refusal) {
    case LimitRefusal::kRouteMaxConnections:
      return UdpDrop::kRouteSessions;
    case LimitRefusal::kIpMaxConnections:
      return UdpDrop::kIpSessions;
    case LimitRefusal::kIpRateLimit:
      return UdpDrop::kIpRate;
    case LimitRefusal::kIpTableFull:
      return UdpDrop::kIpTableFull;
  }
  return UdpDrop::kIpTableFull;
}

}  // namespace

UdpWorker::UdpWorker(Worker& worker, std::size_t route_slots) : worker_(worker), counters_(route_slots) {}

UdpWorker::~UdpWorker() = default;

void UdpWorker::start_listener(std::shared_ptr<UdpListenerSocket> listener) {
  asio::co_spawn(worker_.io, read_loop(std::move(listener)), asio::detached);
  if (!sweeping_) {
    sweeping_ = true;
    asio::co_spawn(worker_.io, sweep_loop(), asio::detached);
  }
}

void UdpWorker::stop_reading(const std::shared_ptr<UdpListenerSocket>& listener) {
  listener->stop_reading();
}

void UdpWorker::close_listener(const std::shared_ptr<UdpListenerSocket>& listener) {
  stop_reading(listener);
  const auto id = listener->id();
  for (auto& s : table_.sweep([id](const UdpSession& s) { return s.key.listener == id; }))
    close_session(s, false);
  track_sessions();
  listener->close();
}

asio::awaitable<void> UdpWorker::read_loop(std::shared_ptr<UdpListenerSocket> listener) {
  const int fd = listener->fd();
  for (;;) {
    auto [ec] =
        co_await listener->socket().async_wait(udp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
    if (ec || !listener->reading()) co_return;
    for (int round = 0; round < kRounds; ++round) {
      const std::size_t n = batch_.receive(fd, true);
      if (n == 0) break;
      const auto now = Clock::now();
      for (std::size_t i = 0; i < n; ++i) on_datagram(*listener, listener, i, now);
      if (n < DatagramBatch::kSlots) break;
    }
  }
}

void UdpWorker::on_datagram(UdpListenerSocket& listener, const std::shared_ptr<UdpListenerSocket>& shared,
                            std::size_t i, Clock::time_point now) {
  const auto key = UdpSessionKey::of(listener.id(), batch_.source(i));
  if (auto* s = table_.find(key)) {
    if (batch_.size(i) > s->route->config.action.udp.max_datagram_size) {
      counters_.drop(UdpDrop::kTooLarge);
      return;
    }
    forward(*s, batch_.data(i), now);
    return;
  }
  auto source = core::Endpoint::from_sockaddr(batch_.source(i));
  if (!source) return;
  const core::Endpoint client = source->unmapped();
  const RouteSet& set = worker_.routes.get();
  const Route* route = set.udp ? set.udp->match(listener.port(), client.address) : nullptr;
  if (!route) {
    counters_.drop(UdpDrop::kNoRoute);
    return;
  }
  if (batch_.size(i) > route->config.action.udp.max_datagram_size) {
    counters_.drop(UdpDrop::kTooLarge);
    return;
  }
  if (!route->allows_ip(client.address)) {
    counters_.drop(UdpDrop::kIpBlocked);
    return;
  }
  const auto& action = route->config.action;
  if (action.type == ActionType::kSocketHandler) {
    auto& rd = counters_.route(set.slots[route->position]);
    const auto size = batch_.size(i);
    rd.in.add(1);
    rd.bytes_in.add(size);
    counters_.datagrams_in.add(1);
    counters_.bytes_in.add(size);
    worker_.metrics.bytes({}, size, 0);
    if (action.socket_handler && action.socket_handler->type == SocketHandlerType::kEcho) {
      if (send_datagram(listener.fd(), batch_.data(i), batch_.source(i), batch_.source_length(i),
                        batch_.local(i))) {
        rd.out.add(1);
        rd.bytes_out.add(size);
        counters_.datagrams_out.add(1);
        counters_.bytes_out.add(size);
        worker_.metrics.bytes({}, 0, size);
      } else {
        counters_.drop(UdpDrop::kSendFailed);
      }
    }
    return;
  }
  if (worker_.core.draining()) {
    counters_.drop(UdpDrop::kDraining);
    return;
  }
  open_session(shared, route, i, key, client, now);
}

void UdpWorker::open_session(const std::shared_ptr<UdpListenerSocket>& listener, const Route* route,
                             std::size_t i, const UdpSessionKey& key, const core::Endpoint& client,
                             Clock::time_point now) {
  // `route` belongs to this snapshot: nothing was awaited since the match.
  const auto& current = worker_.routes.current();
  const RouteSet& set = *current;
  auto limits = set.udp->shared_limits(*route);
  auto admission =
      limits->limits.admit(client.address, set.udp->admission(*route), limits->sessions.get(), now);
  if (!admission) {
    counters_.drop(drop_of(admission.refusal()));
    return;
  }
  if (table_.size() >= table_.capacity()) {
    counters_.drop(UdpDrop::kRouteSessions);
    return;
  }
  const auto& pool = set.route_http[route->position].pool;
  auto pick = pool ? pool->pick(client.address) : std::nullopt;
  std::optional<BackendPool::Lease> lease;
  if (pick) lease = pool->acquire(*pick);
  if (!lease) {
    counters_.drop(UdpDrop::kNoBackend);
    return;
  }
  auto s = std::make_shared<UdpSession>(worker_.io, key);
  s->listener = listener;
  s->client_address = batch_.source(i);
  s->client_length = batch_.source_length(i);
  s->local = batch_.local(i);
  s->client = client;
  s->port = listener->port();
  s->routes = current;
  s->route = route;
  s->retirement = set.retirements[route->position];
  s->limits = std::move(limits);
  s->ticket = std::move(admission.ticket());
  s->pool = pool;
  s->lease = std::move(*lease);
  s->backend_index = *pick;
  s->timeout = route->config.action.udp.session_timeout;
  s->opened = now;
  s->last_activity = now;
  s->datagrams = &counters_.route(set.slots[route->position]);

  const auto& backend = pool->backend(*pick);
  const std::uint16_t port = backend.port == 0 ? listener->port() : backend.port;
  if (auto literal = core::IpAddress::parse(backend.host)) {
    if (!connect_backend(*s, *literal, port)) {
      counters_.drop(UdpDrop::kNoBackend);
      return;
    }
  } else {
    s->connecting = true;
  }
  table_.insert(s);
  s->metrics = worker_.metrics.connection_opened(set.slots[route->position], client.address);
  counters_.sessions_active.add(1);
  counters_.sessions_total.add(1);
  track_sessions();
  if (s->connecting) {
    asio::co_spawn(worker_.io, connect_later(s, backend.host, port), asio::detached);
  } else {
    asio::co_spawn(worker_.io, backend_loop(s), asio::detached);
  }
  forward(*s, batch_.data(i), now);
}

bool UdpWorker::connect_backend(UdpSession& s, const core::IpAddress& address, std::uint16_t port) {
  udp::endpoint at(core::to_asio(address), port);
  boost::system::error_code ec;
  s.backend.open(at.protocol(), ec);
  if (!ec) s.backend.non_blocking(true, ec);
  if (!ec) s.backend.connect(at, ec);
  if (ec) {
    if (spdlog::should_log(spdlog::level::debug))
      spdlog::debug("route {}: UDP backend {}: {}", s.route->id, core::Endpoint{address, port}.to_string(),
                    ec.message());
    s.backend.close(ec);
    return false;
  }
  return true;
}

void UdpWorker::forward(UdpSession& s, std::span<const std::byte> data, Clock::time_point now) {
  s.last_activity = now;
  s.datagrams->in.add(1);
  s.datagrams->bytes_in.add(data.size());
  counters_.datagrams_in.add(1);
  counters_.bytes_in.add(data.size());
  worker_.metrics.bytes(s.metrics, data.size(), 0);
  if (s.connecting) {
    if (s.pending.size() >= UdpSession::kMaxPending) {
      counters_.drop(UdpDrop::kPendingFull);
      return;
    }
    s.pending.emplace_back(data.begin(), data.end());
    return;
  }
  for (;;) {
    if (::send(s.backend.native_handle(), data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return;
    if (errno == EINTR) continue;
    break;
  }
  if (errno == ECONNREFUSED) {
    // The backend's port is closed (ICMP port unreachable): the session ends.
    counters_.drop(UdpDrop::kBackendRefused);
    s.pool->report_failure(s.backend_index);
    end_session(s.key, false);
    return;
  }
  counters_.drop(UdpDrop::kSendFailed);
}

asio::awaitable<void> UdpWorker::connect_later(std::shared_ptr<UdpSession> s, std::string host,
                                               std::uint16_t port) {
  std::string reason;
  auto addresses = co_await worker_.resolver.resolve(host, reason);
  if (s->closed) co_return;
  s->connecting = false;
  bool connected = false;
  for (const auto& address : addresses) {
    if ((connected = connect_backend(*s, address, port))) break;
  }
  if (!connected) {
    spdlog::warn("route {}: no UDP backend for {} ({}: {})", s->route->id, s->client.to_string(), host,
                 addresses.empty() ? reason : "cannot connect");
    counters_.drop(UdpDrop::kNoBackend, std::max<std::size_t>(1, s->pending.size()));
    s->pool->report_failure(s->backend_index);
    end_session(s->key, false);
    co_return;
  }
  auto pending = std::move(s->pending);
  s->pending = {};
  for (const auto& d : pending) {
    if (::send(s->backend.native_handle(), d.data(), d.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
      counters_.drop(UdpDrop::kSendFailed);
  }
  co_await backend_loop(std::move(s));
}

asio::awaitable<void> UdpWorker::backend_loop(std::shared_ptr<UdpSession> s) {
  const int fd = s->backend.native_handle();
  for (;;) {
    auto [ec] = co_await s->backend.async_wait(udp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
    if (ec || s->closed) co_return;
    for (int round = 0; round < kRounds; ++round) {
      const std::size_t n = batch_.receive(fd, false);
      if (n == 0) {
        if (errno == ECONNREFUSED) {
          counters_.drop(UdpDrop::kBackendRefused);
          s->pool->report_failure(s->backend_index);
          end_session(s->key, false);
          co_return;
        }
        break;
      }
      std::uint64_t bytes = 0;
      for (std::size_t i = 0; i < n; ++i) bytes += batch_.size(i);
      const std::size_t sent =
          batch_.send_to(s->listener->fd(), 0, n, s->client_address, s->client_length, s->local);
      if (sent < n) counters_.drop(UdpDrop::kSendFailed, n - sent);
      s->last_activity = Clock::now();
      s->datagrams->out.add(sent);
      s->datagrams->bytes_out.add(bytes);
      counters_.datagrams_out.add(sent);
      counters_.bytes_out.add(bytes);
      worker_.metrics.bytes(s->metrics, 0, bytes);
      if (!s->answered) {
        s->answered = true;
        s->pool->report_success(s->backend_index);
      }
      if (n < DatagramBatch::kSlots) break;
    }
  }
}

void UdpWorker::end_session(const UdpSessionKey& key, bool expired) {
  if (auto s = table_.erase(key)) {
    close_session(s, expired);
    track_sessions();
  }
}

void UdpWorker::close_session(const std::shared_ptr<UdpSession>& s, bool expired) {
  if (s->closed) return;
  s->closed = true;
  boost::system::error_code ignored;
  s->backend.close(ignored);  // ends its read loop
  s->lease.release();
  s->ticket.release();
  s->pending.clear();
  worker_.metrics.connection_closed(s->metrics);
  counters_.sessions_active.sub(1);
  if (expired) counters_.sessions_expired.add(1);
}

// A shutdown token while sessions are open: a drain waits for their answers.
void UdpWorker::track_sessions() {
  if (table_.size() > 0 && !hold_) {
    hold_.emplace(worker_.core.hold());
  } else if (table_.size() == 0 && hold_) {
    hold_.reset();
  }
}

asio::awaitable<void> UdpWorker::sweep_loop() {
  asio::steady_timer timer(worker_.io);
  for (;;) {
    timer.expires_after(kSweepInterval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    if (table_.size() == 0) continue;
    const auto now = Clock::now();
    const bool draining = worker_.core.draining();
    auto expired = table_.sweep([now, draining](const UdpSession& s) {
      auto idle = s.timeout;
      if (draining) idle = std::min<Clock::duration>(idle, kDrainIdle);
      return now - s.last_activity >= idle || (s.retirement && s.retirement->deadline() <= now);
    });
    for (auto& s : expired) close_session(s, true);
    track_sessions();
  }
}

}  // namespace basalt::proxy
