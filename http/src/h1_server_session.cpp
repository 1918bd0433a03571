// HTTP/1.1 server side of one connection: read a request (with limits and a
// deadline), call the handler, write the response, repeat while keep-alive.
#include "buffering_writer.hpp"
#include "h1_request_reader.hpp"
#include "h1_response_writer.hpp"
#include "server_connection.hpp"
#include "watchdog.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

class H1Session final : public Connection, public std::enable_shared_from_this<H1Session> {
 public:
  H1Session(std::unique_ptr<Transport> t, ConnectionContext c)
      : transport_(std::move(t)),
        ctx_(std::move(c)),
        limits_(ctx_.shared->limits),
        stats_(ctx_.shared->stats),
        reader_(limits_.max_header_bytes, limits_.max_body_bytes),
        watchdog_(transport_->socket().get_executor()) {}

  asio::awaitable<void> run(std::string initial) {
    ctx_.worker->live.insert(this);
    draining_ = ctx_.worker->draining;
    auto self = shared_from_this();
    asio::co_spawn(
        transport_->socket().get_executor(),
        [self]() -> asio::awaitable<void> {
          while (co_await self->watchdog_.wait()) self->on_timeout();
        },
        asio::detached);
    try {
      if (!initial.empty()) reader_.append(initial);
      co_await serve();
    } catch (const std::exception& e) {
      spdlog::warn("http/1.1 connection from {}: {}", ctx_.remote.to_string(), e.what());
    }
    watchdog_.stop();
    transport_->close();
    ctx_.worker->live.erase(this);
  }

  void drain() override {
    draining_ = true;
    if (idle_) transport_->cancel();  // waiting for a request that has not begun
  }

 private:
  void on_timeout() {
    timed_out_ = true;
    if (writing_) {
      stats_.add(Stats::kWriteTimeouts);
      transport_->close();
    } else {
      transport_->cancel();
    }
    watchdog_.disarm();
  }

  asio::awaitable<void> serve() {
    for (std::size_t served = 0;; ++served) {
      idle_ = !reader_.started();
      watchdog_.expires_after(idle_ ? limits_.idle_timeout : limits_.request_timeout);
      if (draining_ && idle_) co_return;
      bool sent_continue = false;
      RequestReader::Status status;
      while ((status = reader_.parse()) == RequestReader::Status::kNeedMore) {
        if (!sent_continue && reader_.expects_continue()) {
          sent_continue = true;
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          if (!co_await write(asio::buffer(kContinue))) co_return;
        }
        error_code ec;
        std::size_t n = co_await transport_->read_some(reader_.prepare(), ec);
        if (ec) {
          if (timed_out_ && !idle_) {
            stats_.add(Stats::kRequestTimeouts);
            co_await fail(408);
          } else if (timed_out_) {
            stats_.add(Stats::kIdleTimeouts);
          }
          co_return;
        }
        reader_.commit(n);
        if (idle_) {
          idle_ = false;
          watchdog_.expires_after(limits_.request_timeout);
        }
      }
      idle_ = false;
      if (status != RequestReader::Status::kComplete) {
        stats_.add(status == RequestReader::Status::kHeaderTooLarge ? Stats::kHeaderTooLarge
                   : status == RequestReader::Status::kBodyTooLarge ? Stats::kBodyTooLarge
                                                                    : Stats::kBadRequests);
        co_await fail(RequestReader::status_code(status));
        co_return;
      }
      Request request = reader_.take();
      stats_.add(Stats::kRequestsHttp1);
      bool keep_alive = reader_.keep_alive() && served + 1 < limits_.max_requests_per_connection;
      request.remote = ctx_.remote;
      request.scheme = transport_->secure() ? "https" : "http";
      bool head = request.method == "HEAD";
      Version version = request.version;
      reader_.reset();
      watchdog_.disarm();  // the handler has its own timeout
      auto ex = transport_->socket().get_executor();
      ServerRequest streamed;
      static_cast<RequestHead&>(streamed) = std::move(static_cast<RequestHead&>(request));
      streamed.body = Body::complete(ex, std::move(request.body));
      bool ok = true;
      auto writer =
          std::make_shared<BufferingWriter>([this, &keep_alive, &ok, version, head](
                                                Response response, error_code& ec) -> asio::awaitable<void> {
            count_response(stats_, response.status);
            if (draining_) keep_alive = false;
            if (auto c = response.headers.get("connection"); c && iequals(*c, "close")) keep_alive = false;
            std::string head_bytes = serialize_response_head(response, version, keep_alive, head);
            std::array<asio::const_buffer, 2> buffers{
                asio::buffer(head_bytes),
                asio::buffer(head || !status_has_body(response.status) ? std::string_view{}
                                                                       : std::string_view(response.body))};
            ok = co_await write(buffers);
            if (!ok) ec = asio::error::broken_pipe;
          });
      co_await run_handler(*ctx_.shared, std::move(streamed), writer);
      if (!ok || !writer->head_sent()) co_return;
      if (!keep_alive) {
        watchdog_.expires_after(std::chrono::seconds(2));
        co_await transport_->shutdown();
        co_return;
      }
    }
  }

  asio::awaitable<bool> write(std::span<const asio::const_buffer> buffers) {
    writing_ = true;
    watchdog_.expires_after(limits_.write_timeout);
    error_code ec;
    co_await transport_->write(buffers, ec);
    writing_ = false;
    co_return !ec;
  }
  asio::awaitable<bool> write(asio::const_buffer b) {
    co_return co_await write(std::span<const asio::const_buffer>(&b, 1));
  }

  // An error response, then a short lingering close: the peer may still be
  // sending the request we refused, and closing with unread data would make
  // the kernel reset the connection before the peer reads our answer.
  asio::awaitable<void> fail(int status) {
    count_response(stats_, status);
    Response r = Response::text(status, reason_phrase(status));
    std::string head = serialize_response_head(r, Version::http1_1, false, false);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(r.body)};
    timed_out_ = false;
    if (!co_await write(buffers)) co_return;
    transport_->shutdown_send();
    watchdog_.expires_after(std::chrono::seconds(2));
    std::array<char, 4096> sink;
    for (std::size_t drained = 0; drained < 256 * 1024;) {
      error_code ec;
      auto n = co_await transport_->read_some(asio::buffer(sink), ec);
      if (ec) break;
      drained += n;
    }
  }

  std::unique_ptr<Transport> transport_;
  ConnectionContext ctx_;
  const Limits& limits_;
  Stats& stats_;
  RequestReader reader_;
  Watchdog watchdog_;
  bool idle_ = true;
  bool writing_ = false;
  bool timed_out_ = false;
  bool draining_ = false;
};

}  // namespace

asio::awaitable<void> serve_http1(std::unique_ptr<Transport> transport, ConnectionContext context,
                                  std::string initial) {
  auto session = std::make_shared<H1Session>(std::move(transport), std::move(context));
  co_await session->run(std::move(initial));
}

}  // namespace basalt::http
