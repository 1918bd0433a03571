#include "server/tcp_listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <set>

#include "basalt/core/accept_pause.hpp"
#include "basalt/core/ip_asio.hpp"
#include "server/zone_transfer.hpp"

namespace basalt::dns {
namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kNever = Clock::time_point::max();
constexpr std::size_t kGather = 16;  // answers handed to one writev()

// One client connection. Its reader (State::serve) and its writer (send /
// wrote) run on the worker thread; the watchdog closes it when the reader
// waits too long for a query (read_deadline) or the client takes no answer
// byte for the write timeout (write_deadline).
struct Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, const TcpLimits& l)
      : socket(std::move(s)), watchdog(socket.get_executor()), wakeup(socket.get_executor()), limits(l) {}

  // Frames `msg` and queues it behind the answers not yet written.
  void send(std::span<const std::uint8_t> msg) {
    if (closed) return;
    std::vector<std::uint8_t> framed(2 + msg.size());
    framed[0] = static_cast<std::uint8_t>(msg.size() >> 8);
    framed[1] = static_cast<std::uint8_t>(msg.size());
    std::copy(msg.begin(), msg.end(), framed.begin() + 2);
    queued += framed.size();
    queue.push_back(std::move(framed));
    update_idle();
    if (!writing) write_next();
  }

  void write_next() {
    writing = true;
    if (write_deadline == kNever) {
      write_deadline = Clock::now() + limits.write_timeout;
      watchdog.cancel();  // an earlier deadline than it waits for
    }
    std::vector<asio::const_buffer> gather;
    for (std::size_t i = head; i < queue.size() && gather.size() < kGather; ++i) {
      gather.push_back(asio::buffer(queue[i]) + (i == head ? offset : 0));
    }
    socket.async_write_some(gather, [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      self->wrote(ec, n);
    });
  }

  void wrote(boost::system::error_code ec, std::size_t n) {
    if (ec || closed) {
      writing = false;
      close();
      return;
    }
    queued -= n;
    while (n > 0) {
      auto left = queue[head].size() - offset;
      if (n < left) {
        offset += n;
        break;
      }
      n -= left;
      offset = 0;
      std::vector<std::uint8_t>().swap(queue[head]);
      ++head;
    }
    if (head == queue.size()) {
      queue.clear();
      head = 0;
    } else if (head >= 64 && head * 2 >= queue.size()) {
      queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(head));
      head = 0;
    }
    wakeup.cancel();  // a reader waiting for the backlog to shrink
    if (queue.empty()) {
      writing = false;
      write_deadline = kNever;
      update_idle();
      if (reader_done) close();  // the last answer is out
    } else {
      write_deadline = Clock::now() + limits.write_timeout;  // progress
      write_next();
    }
  }

  bool over_backlog() const noexcept { return queued > limits.max_queued_bytes; }

  // Idle: waiting for the client's next query with nothing owed to it.
  void update_idle() noexcept {
    if (ticket) ticket->set_idle(waiting_for_query && in_flight == 0 && queued == 0);
  }

  // Suspends until woken by a write, a finished query or close().
  asio::awaitable<void> wait() {
    wakeup.expires_at(kNever);
    co_await wakeup.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    watchdog.cancel();
    wakeup.cancel();
    if (ticket) ticket->set_idle(false);
  }

  tcp::socket socket;
  asio::steady_timer watchdog;
  asio::steady_timer wakeup;
  const TcpLimits limits;                        // (a copy: the writer may outlive the listener)
  std::unique_ptr<TcpAdmission::Ticket> ticket;  // the slot, given back when the connection is gone
  Clock::time_point read_deadline = kNever;
  Clock::time_point write_deadline = kNever;
  // Framed answers; those before `head` are written, `offset` octets of queue[head] too.
  std::vector<std::vector<std::uint8_t>> queue;
  std::size_t head = 0, offset = 0, queued = 0;
  std::size_t in_flight = 0;
  bool waiting_for_query = false;
  bool reader_done = false;  // no more queries: close when the answers are out
  bool writing = false;
  bool closed = false;
  bool timed_out = false;
};

}  // namespace

struct TcpListener::State : std::enable_shared_from_this<TcpListener::State> {
  State(tcp::acceptor a, Worker& w, TcpLimits l, std::shared_ptr<TcpAdmission> adm,
        std::vector<core::Cidr> allow)
      : acceptor(std::move(a)),
        worker(w),
        limits(l),
        admission(std::move(adm)),
        transfer_allow(std::move(allow)) {}

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    boost::system::error_code ignored;
    core::AcceptPause pause("dns tcp listener on " +
                            core::from_asio(acceptor.local_endpoint(ignored)).to_string());
    asio::steady_timer backoff(acceptor.get_executor());
    while (acceptor.is_open()) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (!acceptor.is_open()) co_return;
        if (auto wait = pause.after_error(ec); wait.count() > 0) {
          backoff.expires_after(wait);
          co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        continue;
      }
      pause.after_success();
      auto peer = socket.remote_endpoint(ec);
      if (ec) continue;  // reset before we got here
      auto c = std::make_shared<Connection>(std::move(socket), limits);
      TcpAdmission::Verdict verdict;
      c->ticket = admission->admit(core::from_asio(peer.address()), evictor(c), verdict);
      if (!c->ticket) {
        Counters::bump(worker.counters().tcp_rejected);
        c->close();
        continue;
      }
      Counters::bump(worker.counters().tcp_accepted);
      asio::co_spawn(acceptor.get_executor(), serve(c, core::from_asio(peer)), asio::detached);
    }
  }

  // Closes `c` from any thread, to make room for another connection.
  std::function<void()> evictor(const std::shared_ptr<Connection>& c) {
    return
        [weak = std::weak_ptr<Connection>(c), ex = c->socket.get_executor(), counters = &worker.counters()] {
          asio::post(ex, [weak, counters] {
            if (auto c = weak.lock(); c && !c->closed) {
              Counters::bump(counters->tcp_evicted);
              c->close();
            }
          });
        };
  }

  asio::awaitable<void> watch(std::shared_ptr<Connection> c) {
    while (!c->closed) {
      c->watchdog.expires_at(std::min(c->read_deadline, c->write_deadline));
      co_await c->watchdog.async_wait(asio::as_tuple(asio::use_awaitable));
      if (c->closed) co_return;
      auto now = Clock::now();
      if (now >= c->write_deadline) {
        Counters::bump(worker.counters().tcp_stalled);
      } else if (now >= c->read_deadline) {
        Counters::bump(worker.counters().tcp_timeouts);
      } else {
        continue;  // a deadline moved
      }
      c->timed_out = true;
      c->close();
    }
  }

  void set_read_deadline(Connection& c, Clock::time_point at) {
    bool earlier = at < c.read_deadline;
    c.read_deadline = at;
    if (earlier) c.watchdog.cancel();
  }

  asio::awaitable<void> serve(std::shared_ptr<Connection> c, core::Endpoint peer) {
    auto self = shared_from_this();
    connections.insert(c);
    asio::co_spawn(c->socket.get_executor(), watch(c), asio::detached);
    std::array<std::uint8_t, 2> len_buf;
    QueryState state;
    try {
      while (!c->closed) {
        // Backpressure: the client reads its answers before we read more queries.
        while (c->over_backlog() && !c->closed) co_await c->wait();
        if (c->closed) break;
        // The deadline covers waiting for the query and the whole query arriving.
        set_read_deadline(*c, Clock::now() + limits.idle_timeout);
        c->waiting_for_query = true;
        c->update_idle();
        auto [ec1, n1] =
            co_await asio::async_read(c->socket, asio::buffer(len_buf), asio::as_tuple(asio::use_awaitable));
        c->waiting_for_query = false;
        c->update_idle();
        if (ec1) break;
        std::size_t len = (std::size_t{len_buf[0]} << 8) | len_buf[1];
        if (len < Header::kSize) {  // cannot be a DNS message: the stream is out of sync
          Counters::bump(worker.counters().tcp_bad_frames);
          break;
        }
        // Allocated per query, so an idle connection holds no buffer.
        std::vector<std::uint8_t> msg(len);
        auto [ec2, n2] =
            co_await asio::async_read(c->socket, asio::buffer(msg), asio::as_tuple(asio::use_awaitable));
        if (ec2) {
          Counters::bump(worker.counters().tcp_bad_frames);
          break;
        }
        c->read_deadline = kNever;
        state.reset(Transport::kTcp, peer);
        std::size_t size = 0;
        // The worker's buffer: the answer is framed (copied) before the next co_await.
        auto out = worker.buffer();
        switch (worker.answer(msg, state, out, size)) {
          case Worker::Result::kAnswered:
            c->send({out.data(), size});
            break;
          case Worker::Result::kDropped:
            break;
          case Worker::Result::kTransfer:
            co_await serve_transfer(c, state, peer);
            break;
          case Worker::Result::kAsync:
            ++c->in_flight;
            asio::co_spawn(c->socket.get_executor(), answer_later(c, std::move(state)), asio::detached);
            state = QueryState{};
            set_read_deadline(*c, Clock::now() + limits.idle_timeout);
            while (c->in_flight >= limits.max_pipelined && !c->closed) co_await c->wait();
            break;
        }
      }
    } catch (const std::exception& e) {
      spdlog::debug("tcp connection from {}: {}", peer.to_string(), e.what());
    }
    // Let pipelined answers still being computed go out before closing.
    while (c->in_flight > 0 && !c->closed && !c->timed_out) co_await c->wait();
    if (!c->writing) {
      c->close();
    } else {  // the writer closes it when done, or the write timeout does
      c->reader_done = true;
      c->read_deadline = kNever;
      boost::system::error_code ignored;
      c->socket.shutdown(tcp::socket::shutdown_receive, ignored);
    }
    connections.erase(c);
  }

  asio::awaitable<void> answer_later(std::shared_ptr<Connection> c, QueryState state) {
    auto self = shared_from_this();
    // The worker's buffer: answer_async() writes it and returns without suspending again.
    auto out = worker.buffer();
    auto size = co_await worker.answer_async(state, out);
    --c->in_flight;
    c->send({out.data(), size});
    c->update_idle();
    c->wakeup.cancel();
  }

  bool transfer_allowed(const core::Endpoint& peer) const {
    for (const auto& cidr : transfer_allow) {
      if (cidr.contains(peer.address)) return true;
    }
    return false;
  }

  // The transfer's messages, made as the client takes them.
  asio::awaitable<void> serve_transfer(std::shared_ptr<Connection> c, const QueryState& query,
                                       const core::Endpoint& peer) {
    bool allowed = transfer_allowed(peer);
    TransferStream stream(query, worker.data().zones, allowed);
    if (stream.sends_zone()) Counters::bump(worker.counters().axfr);
    spdlog::info("AXFR request from {}: {}", peer.to_string(), allowed ? "allowed" : "refused");
    while (!c->closed) {
      while (c->over_backlog() && !c->closed) co_await c->wait();
      auto out = worker.buffer();
      auto size = stream.next(out);
      if (size == 0) break;
      c->send({out.data(), size});
    }
  }

  tcp::acceptor acceptor;
  Worker& worker;
  TcpLimits limits;
  std::shared_ptr<TcpAdmission> admission;
  std::vector<core::Cidr> transfer_allow;
  std::set<std::shared_ptr<Connection>> connections;
};

TcpListener::TcpListener(tcp::acceptor acceptor, Worker& worker, TcpLimits limits,
                         std::shared_ptr<TcpAdmission> admission, std::vector<core::Cidr> transfer_allow)
    : state_(std::make_shared<State>(std::move(acceptor), worker, limits, std::move(admission),
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
