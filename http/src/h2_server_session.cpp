// HTTP/2 server side of one connection: a reader feeding H2ServerProtocol,
// a writer flushing it, one coroutine per request handler, and a watchdog
// for request, idle and write deadlines.
#include "buffering_writer.hpp"
#include "h2_server_protocol.hpp"
#include "server_connection.hpp"
#include "watchdog.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kWriteBatch = 64 * 1024;
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;

class H2Session final : public Connection, public std::enable_shared_from_this<H2Session> {
 public:
  H2Session(std::unique_ptr<Transport> t, ConnectionContext c)
      : transport_(std::move(t)),
        ctx_(std::move(c)),
        limits_(ctx_.shared->limits),
        stats_(ctx_.shared->stats),
        protocol_(limits_, stats_, ctx_.remote, transport_->secure()),
        watchdog_(transport_->socket().get_executor()),
        wake_(transport_->socket().get_executor()) {}

  ~H2Session() override { ctx_.worker->live.erase(this); }

  asio::awaitable<void> run(std::string initial) {
    ctx_.worker->live.insert(this);
    auto self = shared_from_this();
    auto ex = transport_->socket().get_executor();
    last_activity_ = Clock::now();
    asio::co_spawn(
        ex,
        [self]() -> asio::awaitable<void> {
          while (co_await self->watchdog_.wait()) self->on_timer();
        },
        asio::detached);
    asio::co_spawn(
        ex, [self]() -> asio::awaitable<void> { co_await self->write_loop(); }, asio::detached);
    if (ctx_.worker->draining) protocol_.shutdown_notice();
    try {
      if (!initial.empty()) received(std::as_bytes(std::span(initial.data(), initial.size())));
      std::array<std::uint8_t, 16 * 1024> buffer;
      std::size_t discarded = 0;
      for (;;) {
        if (!finished_ && !protocol_.wants_read() && !protocol_.wants_write()) wake();
        error_code ec;
        auto n = co_await transport_->read_some(asio::buffer(buffer), ec);
        if (ec) break;
        if (!finished_ && protocol_.wants_read()) {
          received(std::as_bytes(std::span(buffer.data(), n)));
        } else if ((discarded += n) > kMaxLingerBytes) {
          break;  // lingering after GOAWAY: the peer keeps sending
        }
      }
    } catch (const std::exception& e) {
      spdlog::warn("http/2 connection from {}: {}", ctx_.remote.to_string(), e.what());
    }
    peer_gone_ = true;
    wake();
  }

  void drain() override {
    if (finished_) return;
    protocol_.shutdown_notice();
    wake();
  }

 private:
  void received(std::span<const std::byte> bytes) {
    last_activity_ = Clock::now();
    protocol_.receive({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    for (auto& [id, request] : protocol_.take_requests()) dispatch(id, std::move(request));
    rearm();
    wake();
  }

  void dispatch(std::int32_t id, Request request) {
    protocol_.handler_started();
    auto self = shared_from_this();
    asio::co_spawn(
        transport_->socket().get_executor(),
        [self, id, request = std::move(request)]() mutable -> asio::awaitable<void> {
          bool head = request.method == "HEAD";
          auto ex = self->transport_->socket().get_executor();
          ServerRequest streamed;
          static_cast<RequestHead&>(streamed) = std::move(static_cast<RequestHead&>(request));
          streamed.body = Body::complete(ex, std::move(request.body));
          auto sent = std::make_shared<bool>(false);
          auto writer = std::make_shared<BufferingWriter>(
              [self, id, head, sent](Response response, error_code&) -> asio::awaitable<void> {
                *sent = true;
                count_response(self->stats_, response.status);
                if (self->finished_) co_return;
                self->last_activity_ = Clock::now();
                self->protocol_.respond(id, std::move(response), head);
                self->rearm();
                self->wake();
              });
          co_await run_handler(*self->ctx_.shared, std::move(streamed), writer);
          self->protocol_.handler_finished();
          // Reset without an answer: release the stream (and its count).
          if (!*sent) self->protocol_.respond(id, Response::text(500, reason_phrase(500)), head);
        },
        asio::detached);
  }

  asio::awaitable<void> write_loop() {
    std::vector<std::uint8_t> out;
    for (;;) {
      out.clear();
      while (out.size() < kWriteBatch) {
        auto chunk = protocol_.next_output();
        if (chunk.empty()) break;
        out.insert(out.end(), chunk.begin(), chunk.end());
      }
      if (!out.empty() && !peer_gone_) {
        writing_ = true;
        write_deadline_ = Clock::now() + limits_.write_timeout;
        rearm();
        error_code ec;
        co_await transport_->write(asio::buffer(out), ec);
        writing_ = false;
        rearm();
        if (ec) break;
        continue;
      }
      if (peer_gone_ || (!protocol_.wants_read() && !protocol_.wants_write())) break;
      wake_.expires_at(Clock::time_point::max());
      error_code ec;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    finished_ = true;
    if (!peer_gone_) {
      // Lingering close: our GOAWAY is sent, but closing while the peer's
      // frames are still arriving would make the kernel answer with a TCP
      // RST that can destroy the GOAWAY in the peer's receive buffer. Send
      // FIN (cleartext), keep reading and dropping for a short while.
      transport_->shutdown_send();
      watchdog_.expires_after(kLinger);
      while (!peer_gone_) {
        wake_.expires_at(Clock::time_point::max());
        error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    watchdog_.stop();
    transport_->close();
  }

  void wake() { wake_.cancel(); }

  void rearm() {
    if (finished_) return;
    auto next = protocol_.next_request_deadline();
    if (writing_) next = std::min(next, write_deadline_);
    if (idle()) next = std::min(next, last_activity_ + limits_.idle_timeout);
    watchdog_.expires_at(next);
  }

  bool idle() const {
    return protocol_.open_streams() == 0 && protocol_.handlers_running() == 0 && !idle_closed_;
  }

  void on_timer() {
    auto now = Clock::now();
    if (finished_) {  // lingering is over
      transport_->close();
      watchdog_.disarm();
      return;
    }
    if (writing_ && now >= write_deadline_) {
      stats_.add(Stats::kWriteTimeouts);
      peer_gone_ = true;
      transport_->close();
      watchdog_.disarm();
      wake();
      return;
    }
    protocol_.expire_requests(now);
    if (idle() && now >= last_activity_ + limits_.idle_timeout) {
      stats_.add(Stats::kIdleTimeouts);
      idle_closed_ = true;
      protocol_.shutdown_notice();
    }
    watchdog_.disarm();
    rearm();
    wake();
  }

  std::unique_ptr<Transport> transport_;
  ConnectionContext ctx_;
  const Limits& limits_;
  Stats& stats_;
  H2ServerProtocol protocol_;
  Watchdog watchdog_;
  asio::steady_timer wake_;
  Clock::time_point last_activity_;
  Clock::time_point write_deadline_;
  bool writing_ = false;
  bool peer_gone_ = false;
  bool finished_ = false;
  bool idle_closed_ = false;
};

}  // namespace

asio::awaitable<void> serve_http2(std::unique_ptr<Transport> transport, ConnectionContext context,
                                  std::string initial) {
  auto session = std::make_shared<H2Session>(std::move(transport), std::move(context));
  co_await session->run(std::move(initial));
}

}  // namespace basalt::http
