#include "server/tcp_listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>
#include <set>

#include "basalt/core/ip_asio.hpp"
#include "server/zone_transfer.hpp"

namespace basalt::dns {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s)
      : socket(std::move(s)), watchdog(socket.get_executor()), slot(socket.get_executor()) {}

  void send(std::vector<std::uint8_t> framed) {
    if (closed) return;
    queue.push_back(std::move(framed));
    if (!writing) write_next();
  }

  void write_next() {
    writing = true;
    asio::async_write(socket, asio::buffer(queue.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->queue.pop_front();
                        if (ec) {
                          self->close();
                          return;
                        }
                        if (self->queue.empty() || self->closed) {
                          self->writing = false;
                        } else {
                          self->write_next();
                        }
                      });
  }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    watchdog.cancel();
    slot.cancel();
  }

  tcp::socket socket;
  asio::steady_timer watchdog;  // closes the connection when `deadline` passes
  asio::steady_timer slot;      // wakes the reader when a pipelined query finishes
  std::chrono::steady_clock::time_point deadline;
  std::deque<std::vector<std::uint8_t>> queue;
  std::size_t in_flight = 0;
  bool writing = false;
  bool closed = false;
  bool timed_out = false;
};

std::vector<std::uint8_t> frame(std::span<const std::uint8_t> msg) {
  std::vector<std::uint8_t> out(2 + msg.size());
  out[0] = static_cast<std::uint8_t>(msg.size() >> 8);
  out[1] = static_cast<std::uint8_t>(msg.size());
  std::copy(msg.begin(), msg.end(), out.begin() + 2);
  return out;
}

}  // namespace

struct TcpListener::State : std::enable_shared_from_this<TcpListener::State> {
  State(tcp::acceptor a, Worker& w, TcpLimits l, std::atomic<std::size_t>& open,
        std::vector<core::Cidr> allow)
      : acceptor(std::move(a)),
        worker(w),
        limits(l),
        open_connections(open),
        transfer_allow(std::move(allow)) {}

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (acceptor.is_open()) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (!acceptor.is_open()) co_return;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      if (open_connections.load(std::memory_order_relaxed) >= limits.max_connections) {
        Counters::bump(worker.counters().tcp_rejected);
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      Counters::bump(worker.counters().tcp_accepted);
      asio::co_spawn(acceptor.get_executor(), serve(std::make_shared<Connection>(std::move(socket))),
                     asio::detached);
    }
  }

  asio::awaitable<void> watch(std::shared_ptr<Connection> c) {
    while (!c->closed) {
      c->watchdog.expires_at(c->deadline);
      co_await c->watchdog.async_wait(asio::as_tuple(asio::use_awaitable));
      if (c->closed) co_return;
      if (std::chrono::steady_clock::now() >= c->deadline) {
        c->timed_out = true;
        Counters::bump(worker.counters().tcp_timeouts);
        c->close();
        co_return;
      }
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<Connection> c) {
    auto self = shared_from_this();
    open_connections.fetch_add(1, std::memory_order_relaxed);
    connections.insert(c);
    c->deadline = std::chrono::steady_clock::now() + limits.idle_timeout;
    asio::co_spawn(c->socket.get_executor(), watch(c), asio::detached);
    core::Endpoint peer{};
    if (boost::system::error_code ec; true) {
      auto ep = c->socket.remote_endpoint(ec);
      if (!ec) peer = {core::from_asio(ep.address()), ep.port()};
    }
    std::array<std::uint8_t, 2> len_buf;
    std::vector<std::uint8_t> msg;
    QueryState state;
    try {
      while (!c->closed) {
        // The deadline covers waiting for the query and the query arriving.
        c->deadline = std::chrono::steady_clock::now() + limits.idle_timeout;
        c->watchdog.cancel();  // re-arm with the new deadline
        auto [ec1, n1] =
            co_await asio::async_read(c->socket, asio::buffer(len_buf), asio::as_tuple(asio::use_awaitable));
        if (ec1) break;
        std::size_t len = (std::size_t{len_buf[0]} << 8) | len_buf[1];
        if (len < Header::kSize) {  // cannot be a DNS message: the stream is out of sync
          Counters::bump(worker.counters().tcp_bad_frames);
          break;
        }
        msg.resize(len);
        auto [ec2, n2] =
            co_await asio::async_read(c->socket, asio::buffer(msg), asio::as_tuple(asio::use_awaitable));
        if (ec2) {
          Counters::bump(worker.counters().tcp_bad_frames);
          break;
        }
        state.reset(Transport::kTcp, peer);
        std::size_t size = 0;
        // The worker's buffer: the answer is framed (copied) before the next co_await.
        auto out = worker.buffer();
        switch (worker.answer(msg, state, out, size)) {
          case Worker::Result::kAnswered:
            c->send(frame({out.data(), size}));
            break;
          case Worker::Result::kDropped:
            break;
          case Worker::Result::kTransfer:
            serve_transfer(c, state, peer);
            break;
          case Worker::Result::kAsync:
            ++c->in_flight;
            asio::co_spawn(c->socket.get_executor(), answer_later(c, std::move(state)), asio::detached);
            state = QueryState{};
            while (c->in_flight >= limits.max_pipelined && !c->closed) {
              c->slot.expires_at(std::chrono::steady_clock::time_point::max());
              co_await c->slot.async_wait(asio::as_tuple(asio::use_awaitable));
            }
            break;
        }
      }
    } catch (const std::exception& e) {
      spdlog::debug("tcp connection from {}: {}", peer.to_string(), e.what());
    }
    // Let pipelined answers still being computed go out before closing.
    while (c->in_flight > 0 && !c->closed && !c->timed_out) {
      c->slot.expires_at(std::chrono::steady_clock::time_point::max());
      co_await c->slot.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!c->writing)
      c->close();
    else
      c->socket.shutdown(tcp::socket::shutdown_receive);
    connections.erase(c);
    open_connections.fetch_sub(1, std::memory_order_relaxed);
    c->watchdog.cancel();
  }

  asio::awaitable<void> answer_later(std::shared_ptr<Connection> c, QueryState state) {
    auto self = shared_from_this();
    std::vector<std::uint8_t> out(65535);
    auto size = co_await worker.answer_async(state, out);
    --c->in_flight;
    c->send(frame({out.data(), size}));
    c->slot.cancel();
  }

  bool transfer_allowed(const core::Endpoint& peer) const {
    for (const auto& cidr : transfer_allow) {
      if (cidr.contains(peer.address)) return true;
    }
    return false;
  }

  void serve_transfer(const std::shared_ptr<Connection>& c, const QueryState& query,
                      const core::Endpoint& peer) {
    const auto& data = worker.data();
    bool allowed = transfer_allowed(peer);
    auto messages = build_transfer(query, data.zones, allowed);
    if (allowed && messages.size() > 1) Counters::bump(worker.counters().axfr);
    spdlog::info("AXFR request from {}: {}", peer.to_string(), allowed ? "allowed" : "refused");
    for (auto& m : messages) {
      c->deadline = std::chrono::steady_clock::now() + limits.idle_timeout;
      c->send(frame(m));
    }
  }

  tcp::acceptor acceptor;
  Worker& worker;
  TcpLimits limits;
  std::atomic<std::size_t>& open_connections;
  std::vector<core::Cidr> transfer_allow;
  std::set<std::shared_ptr<Connection>> connections;
};

TcpListener::TcpListener(tcp::acceptor acceptor, Worker& worker, TcpLimits limits,
                         std::atomic<std::size_t>& open_connections, std::vector<core::Cidr> transfer_allow)
    : state_(std::make_shared<State>(std::move(acceptor), worker, limits, open_connections,
                                     std::move(transfer_allow))) {}

TcpListener::~TcpListener() = default;

void TcpListener::start() {
  asio::co_spawn(state_->acceptor.get_executor(), state_->accept_loop(), asio::detached);
}

void TcpListener::close() {
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  auto conns = state_->connections;
  for (auto& c : conns) c->close();
}

}  // namespace basalt::dns
