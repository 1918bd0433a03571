// HTTP/2 server side of one connection: a reader feeding H2ServerProtocol,
// a writer flushing it, one coroutine per request handler with an
// H2ResponseWriter, and a watchdog for stream, idle and write deadlines.
#include "h1_response_writer.hpp"
#include "h2_server_protocol.hpp"
#include "server_connection.hpp"
#include "watchdog.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <nghttp2/nghttp2.h>

#include <array>
#include <charconv>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kWriteBatch = 64 * 1024;
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
// Between a drain's two GOAWAYs (RFC 9113 6.8): longer than a round trip,
// so that a request the client sent before it saw the first is served, not
// refused.
constexpr auto kGoawayGrace = std::chrono::seconds(1);
// Response bytes a handler may have written ahead of the peer's flow
// control window, per stream.
constexpr std::size_t kResponseBuffer = 64 * 1024;

class H2ResponseWriter;

class H2Session final : public Connection, public std::enable_shared_from_this<H2Session> {
 public:
  H2Session(std::unique_ptr<Transport> t, ConnectionContext c)
      : transport_(std::move(t)),
        ctx_(std::move(c)),
        limits_(ctx_.shared->limits),
        stats_(ctx_.shared->stats),
        protocol_(transport_->socket().get_executor(), limits_, stats_, ctx_.remote, transport_->secure()),
        watchdog_(transport_->socket().get_executor()),
        wake_(transport_->socket().get_executor()) {
    protocol_.on_output([this] {
      rearm();
      wake();
    });
  }

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
    if (ctx_.worker->draining) begin_drain();
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
    protocol_.close();  // request bodies fail with kReset, response writes fail
    wake();
  }

  void drain() override {
    if (finished_) return;
    begin_drain();
    wake();
  }

  // GOAWAY(2^31-1) now, the final GOAWAY (the last stream served) after
  // kGoawayGrace.
  void begin_drain() {
    if (goaway_at_ != Clock::time_point::max()) return;
    protocol_.announce_shutdown();
    goaway_at_ = Clock::now() + kGoawayGrace;
    rearm();
  }

 private:
  friend class H2ResponseWriter;

  void received(std::span<const std::byte> bytes) {
    last_activity_ = Clock::now();
    protocol_.receive({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    for (auto& [id, request] : protocol_.take_requests()) dispatch(id, std::move(request));
    rearm();
    wake();
  }

  void dispatch(std::int32_t id, ServerRequest request);

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
    protocol_.close();
    watchdog_.stop();
    transport_->close();
  }

  void wake() { wake_.cancel(); }

  void rearm() {
    if (finished_) return;
    auto next = protocol_.next_deadline();
    if (writing_) next = std::min(next, write_deadline_);
    if (idle()) next = std::min(next, last_activity_ + limits_.idle_timeout);
    if (!goaway_sent_) next = std::min(next, goaway_at_);
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
    protocol_.expire(now);
    if (!goaway_sent_ && now >= goaway_at_) {
      goaway_sent_ = true;
      protocol_.shutdown_notice();
    }
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
  Clock::time_point goaway_at_ = Clock::time_point::max();  // a drain's final GOAWAY
  bool goaway_sent_ = false;
};

// The ResponseWriter of one stream. Heads and whole responses go straight
// to the protocol; body bytes go through a Body that the stream's DATA
// frames are read from, so write() waits while kResponseBuffer bytes are
// still waiting for the peer's flow-control window: a client that does not
// read stalls its handler, not our memory.
class H2ResponseWriter final : public ResponseWriter {
 public:
  H2ResponseWriter(std::shared_ptr<H2Session> session, std::int32_t id, bool head_request)
      : session_(std::move(session)), id_(id), head_request_(head_request) {}

  asio::awaitable<void> write_head(ResponseHead head, error_code& ec) override {
    ec = {};
    auto& protocol = session_->protocol_;
    if (head.status >= 100 && head.status < 200) {
      ec = protocol.send_interim(id_, head);
      co_return;
    }
    if (head_sent_) {
      ec = asio::error::already_started;
      co_return;
    }
    int status = head.status < 100 || head.status > 999 ? 500 : head.status;
    declared_.reset();
    if (auto length = head.headers.get("content-length")) {
      std::uint64_t n = 0;
      auto [end, err] = std::from_chars(length->data(), length->data() + length->size(), n);
      if (err == std::errc() && end == length->data() + length->size()) declared_ = n;
    }
    std::shared_ptr<Body> out;
    if (status_has_body(status) && !head_request_)
      out = std::make_shared<Body>(session_->transport_->socket().get_executor(), kResponseBuffer);
    ec = protocol.send_head(id_, head, out);
    if (ec) co_return;
    out_ = std::move(out);
    head_sent_ = true;
    count_response(session_->stats_, status);
    session_->last_activity_ = Clock::now();
  }

  asio::awaitable<void> write(std::string_view bytes, error_code& ec) override {
    ec = {};
    if (!head_sent_) {
      ec = asio::error::not_connected;
      co_return;
    }
    if (finished_) {
      ec = asio::error::shut_down;
      co_return;
    }
    if (!out_) co_return;  // HEAD, 204, 304: there is no body to send
    if (declared_ && bytes.size() > *declared_ - written_) {
      ec = make_error_code(BodyError::kTooLarge);  // more than the content-length sent
      co_return;
    }
    while (!bytes.empty()) {
      std::string_view piece = bytes.substr(0, kResponseBuffer);
      co_await out_->write(piece, ec);
      if (ec) co_return;
      written_ += piece.size();
      bytes.remove_prefix(piece.size());
    }
  }

  asio::awaitable<void> finish(Headers trailers, error_code& ec) override {
    ec = {};
    if (!head_sent_) {
      ec = asio::error::not_connected;
      co_return;
    }
    if (finished_) co_return;
    finished_ = true;
    if (!out_) co_return;  // the head ended the stream
    if (out_->error()) {
      ec = out_->error();
      co_return;
    }
    if (declared_ && written_ < *declared_) {
      // Shorter than announced: the peer must not take it as complete.
      session_->protocol_.reset(id_, NGHTTP2_INTERNAL_ERROR);
      ec = make_error_code(BodyError::kProtocol);
      co_return;
    }
    out_->finish(std::move(trailers));
  }

  asio::awaitable<void> respond(Response response, error_code& ec) override {
    ec = {};
    auto state = session_->protocol_.response_state(id_);
    if (state == H2ServerProtocol::ResponseState::kGone) {
      ec = make_error_code(BodyError::kReset);
      co_return;
    }
    if (head_sent_ || state != H2ServerProtocol::ResponseState::kNone) {
      ec = asio::error::already_started;
      co_return;
    }
    head_sent_ = finished_ = true;
    count_response(session_->stats_, response.status);
    session_->last_activity_ = Clock::now();
    session_->protocol_.respond(id_, std::move(response), head_request_);
  }

  void reset() override {
    finished_ = true;
    session_->protocol_.reset(id_, NGHTTP2_INTERNAL_ERROR);
  }

  bool head_sent() const noexcept override {
    return head_sent_ || session_->protocol_.response_state(id_) != H2ServerProtocol::ResponseState::kNone;
  }

  bool finished() const noexcept override {
    auto state = session_->protocol_.response_state(id_);
    return finished_ || state == H2ServerProtocol::ResponseState::kEnded ||
           state == H2ServerProtocol::ResponseState::kGone;
  }

 private:
  std::shared_ptr<H2Session> session_;
  std::int32_t id_;
  bool head_request_;
  std::shared_ptr<Body> out_;
  std::optional<std::uint64_t> declared_;
  std::uint64_t written_ = 0;
  bool head_sent_ = false;
  bool finished_ = false;
};

void H2Session::dispatch(std::int32_t id, ServerRequest request) {
  auto self = shared_from_this();
  auto writer = std::make_shared<H2ResponseWriter>(self, id, request.method == "HEAD");
  asio::co_spawn(
      transport_->socket().get_executor(),
      [self, id, writer, request = std::move(request)]() mutable -> asio::awaitable<void> {
        std::shared_ptr<ResponseWriter> w = writer;
        co_await run_handler(*self->ctx_.shared, handler_of(self->ctx_), std::move(request), std::move(w));
        self->protocol_.handler_finished(id);
        self->rearm();
        self->wake();
      },
      asio::detached);
}

}  // namespace

asio::awaitable<void> serve_http2(std::unique_ptr<Transport> transport, ConnectionContext context,
                                  std::string initial) {
  auto session = std::make_shared<H2Session>(std::move(transport), std::move(context));
  co_await session->run(std::move(initial));
}

}  // namespace basalt::http
