// HTTP/1.1 server side of one connection: read a request head (with limits
// and a deadline), hand the head to the handler while the body streams in
// behind it, write the response as the handler produces it, repeat while
// keep-alive. An accepted Upgrade (101) or CONNECT (2xx) turns the
// connection into a byte tunnel for the rest of its life.
//
// Two coroutines touch the socket during an exchange: this session reads
// (the request body, or the tunnel's incoming bytes) and the handler writes
// through H1Writer. Transport allows one read and one write at a time.
#include "h1_request_reader.hpp"
#include "h1_response_writer.hpp"
#include "server_connection.hpp"
#include "watchdog.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace basalt::http {

namespace asio = boost::asio;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// Request body bytes that may wait for the handler before we stop reading.
constexpr std::size_t kBodyWindow = 64 * 1024;
constexpr auto kLinger = std::chrono::seconds(2);
// A draining connection between requests still answers a request that is
// on its way (with Connection: close) and closes after this much silence:
// closing it at once would cut a request the client sent as the drain
// began, which a client cannot tell from a failure (the keep-alive race).
constexpr auto kDrainIdle = std::chrono::seconds(1);
constexpr std::size_t kMaxLingerBytes = 256 * 1024;

class H1Session;

// The response side of one exchange.
class H1Writer final : public ResponseWriter {
 public:
  H1Writer(std::shared_ptr<H1Session> session, Version version, bool head_request, bool upgrade, bool connect,
           bool keep_alive)
      : session_(std::move(session)),
        version_(version),
        head_request_(head_request),
        upgrade_(upgrade),
        connect_(connect),
        keep_alive_(keep_alive) {}

  asio::awaitable<void> write_head(ResponseHead head, error_code& ec) override;
  asio::awaitable<void> write(std::string_view bytes, error_code& ec) override;
  asio::awaitable<void> finish(Headers trailers, error_code& ec) override;
  asio::awaitable<void> respond(Response response, error_code& ec) override;
  void reset() override;
  bool head_sent() const noexcept override { return head_sent_; }
  bool finished() const noexcept override { return finished_; }

  bool tunnel() const noexcept { return framing_ == Framing::kTunnel; }
  // The connection may carry another request after this response.
  bool keep_alive() const noexcept { return keep_alive_ && finished_ && !failed_ && !tunnel(); }
  bool failed() const noexcept { return failed_; }
  void refuse_keep_alive() noexcept { keep_alive_ = false; }

 private:
  Framing framing_for(const ResponseHead& head, std::uint64_t& length) const;
  // Writes through the session; a failure marks the exchange failed.
  asio::awaitable<void> send(std::span<const asio::const_buffer> buffers, error_code& ec);

  std::shared_ptr<H1Session> session_;
  Version version_;
  bool head_request_;
  bool upgrade_;  // the request asked for an Upgrade
  bool connect_;  // the request is a CONNECT
  bool keep_alive_;
  bool head_sent_ = false;
  bool finished_ = false;
  bool failed_ = false;
  Framing framing_ = Framing::kNone;
  std::uint64_t remaining_ = 0;  // kLength: bytes still owed
  // kLength with a body: the head waits for the first body bytes and goes
  // out with them in one send (one TCP segment for a small response).
  std::string pending_head_;
};

class H1Session final : public Connection, public std::enable_shared_from_this<H1Session> {
 public:
  H1Session(std::unique_ptr<Transport> t, ConnectionContext c)
      : transport_(std::move(t)),
        ctx_(std::move(c)),
        limits_(ctx_.shared->limits),
        stats_(ctx_.shared->stats),
        reader_(limits_.max_header_bytes, limits_.max_body_bytes, limits_.max_request_line_bytes,
                limits_.max_header_count),
        read_watch_(executor()),
        write_watch_(executor()),
        wake_(executor()) {}

  asio::any_io_executor executor() { return transport_->socket().get_executor(); }
  Transport& transport() { return *transport_; }
  Stats& stats() { return stats_; }
  bool draining() const { return draining_; }

  asio::awaitable<void> run(std::string initial) {
    ctx_.worker->live.insert(this);
    draining_ = ctx_.worker->draining;
    auto self = shared_from_this();
    asio::co_spawn(
        executor(),
        [self]() -> asio::awaitable<void> {
          while (co_await self->read_watch_.wait()) self->on_read_timeout();
        },
        asio::detached);
    asio::co_spawn(
        executor(),
        [self]() -> asio::awaitable<void> {
          while (co_await self->write_watch_.wait()) self->on_write_timeout();
        },
        asio::detached);
    try {
      if (!initial.empty()) reader_.append(initial);
      co_await serve();
    } catch (const std::exception& e) {
      spdlog::warn("http/1.1 connection from {}: {}", ctx_.remote.to_string(), e.what());
    }
    read_watch_.stop();
    write_watch_.stop();
    transport_->close();
    ctx_.worker->live.erase(this);
  }

  void drain() override {
    draining_ = true;
    if (idle_) read_watch_.expires_after(drain_idle());  // waiting for a request that has not begun
  }

  // Writes with the write timeout; false when the connection is gone.
  asio::awaitable<bool> write(std::span<const asio::const_buffer> buffers) {
    write_watch_.expires_after(limits_.write_timeout);
    error_code ec;
    co_await transport_->write(buffers, ec);
    write_watch_.disarm();
    co_return !ec;
  }

  void close() { transport_->close(); }
  void notify() { wake(); }
  Clock::duration drain_idle() const { return std::min<Clock::duration>(limits_.idle_timeout, kDrainIdle); }

 private:
  // The body of a request without one. Reused while no handler holds on to
  // it (and it is untouched): one allocation less per request.
  std::shared_ptr<Body> empty_body() {
    if (!empty_body_ || empty_body_.use_count() > 1 || empty_body_->error()) {
      empty_body_ = Body::complete(executor());
    }
    return empty_body_;
  }

 public:
 private:
  void on_read_timeout() {
    read_watch_.disarm();
    if (handler_running_) {
      if (auto writer = writer_.lock()) time_out(*ctx_.shared, handler_call_, writer, executor());
      return;
    }
    read_timed_out_ = true;
    // A write of the handler may be in flight: cancel() would abort it too.
    // Only a read is pending unless a response is on its way, and then the
    // exchange is over anyway.
    if (auto writer = writer_.lock(); writer && writer->head_sent()) {
      transport_->close();
    } else {
      transport_->cancel();
    }
  }
  void on_write_timeout() {
    write_watch_.disarm();
    stats_.add(Stats::kWriteTimeouts);
    transport_->close();
  }
  void wake() { wake_.cancel(); }
  asio::awaitable<void> sleep() {
    wake_.expires_at(Clock::time_point::max());
    error_code ec;
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // Reads more bytes into the reader; false on EOF, error or timeout.
  asio::awaitable<bool> read_more(error_code& ec) {
    reading_ = true;
    std::size_t n = co_await transport_->read_some(reader_.prepare(), ec);
    reading_ = false;
    if (ec) co_return false;
    reader_.commit(n);
    co_return true;
  }

  asio::awaitable<void> serve() {
    for (std::size_t served = 0;; ++served) {
      idle_ = !reader_.started();
      read_watch_.expires_after(idle_ ? limits_.idle_timeout : limits_.request_timeout);
      if (draining_ && idle_) read_watch_.expires_after(drain_idle());
      RequestReader::Status status;
      while ((status = reader_.parse_head()) == RequestReader::Status::kNeedMore) {
        error_code ec;
        if (!co_await read_more(ec)) {
          if (read_timed_out_ && !idle_) {
            stats_.add(Stats::kRequestTimeouts);
            co_await fail(408);
          } else if (read_timed_out_) {
            stats_.add(Stats::kIdleTimeouts);
          }
          co_return;
        }
        if (idle_) {
          idle_ = false;
          read_watch_.expires_after(limits_.request_timeout);
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
      if (!co_await exchange(served)) co_return;
      reader_.reset();
    }
  }

  // One request and its response. True when the connection may carry the next.
  asio::awaitable<bool> exchange(std::size_t served) {
    ServerRequest request;
    static_cast<RequestHead&>(request) = reader_.take_head();
    stats_.add(Stats::kRequestsHttp1);
    request.remote = ctx_.remote;
    request.scheme = transport_->secure() ? "https" : "http";
    bool connect = request.method == "CONNECT";
    may_tunnel_ = reader_.upgrade() || connect;
    bool keep_alive = reader_.keep_alive() && served + 1 < limits_.max_requests_per_connection && !draining_;
    auto writer = std::make_shared<H1Writer>(shared_from_this(), request.version, request.method == "HEAD",
                                             reader_.upgrade(), connect, keep_alive);
    writer_ = writer;
    bool streams = reader_.has_body() || may_tunnel_;
    std::shared_ptr<Body> body = streams ? std::make_shared<Body>(executor(), kBodyWindow) : empty_body();
    request.body = body;
    if (reader_.expects_continue()) {
      // The head passed every check: let the client send the body.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::const_buffer b = asio::buffer(kContinue);
      std::span<const asio::const_buffer> out(&b, 1);
      bool sent = co_await write(out);
      if (!sent) co_return false;
    }
    if (!streams) {
      // The handler runs inline; this connection's watchdog keeps its deadline.
      read_watch_.expires_after(limits_.handler_timeout);
      handler_running_ = true;
      co_await call_handler(*ctx_.shared, handler_of(ctx_), std::move(request), writer, handler_call_);
      handler_running_ = false;
      handler_call_.timed_out = false;
      read_watch_.disarm();
      writer_.reset();
      bool next = co_await after(*writer, true);
      co_return next;
    }
    // The handler runs beside the body pump below, with its own timer.
    read_watch_.disarm();
    handler_done_ = false;
    auto self = shared_from_this();
    asio::co_spawn(
        executor(),
        [self, request = std::move(request), writer]() mutable -> asio::awaitable<void> {
          co_await run_handler(*self->ctx_.shared, handler_of(self->ctx_), std::move(request), writer);
        },
        [self](std::exception_ptr) {
          self->handler_done_ = true;
          if (self->reading_) self->transport_->cancel();  // stop pumping a body nobody waits for
          self->wake();
        });
    bool body_complete = co_await pump(*body, *writer);
    while (!handler_done_) co_await sleep();
    writer_.reset();
    bool next = co_await after(*writer, body_complete);
    co_return next;
  }

  // Decides what follows a finished exchange; a lingering close when the
  // request was not read to its end.
  asio::awaitable<bool> after(H1Writer& writer, bool body_complete) {
    if (writer.failed() || !transport_->is_open()) co_return false;
    if (writer.tunnel()) {
      read_watch_.expires_after(kLinger);
      co_await transport_->shutdown();
      co_return false;
    }
    // Draining: a response that promised keep-alive still lets the client's
    // next request in (serve() answers it with Connection: close).
    if (!writer.keep_alive()) {
      read_watch_.expires_after(kLinger);
      if (body_complete) {
        co_await transport_->shutdown();
      } else {
        co_await linger();
      }
      co_return false;
    }
    if (!body_complete) {
      co_await linger();
      co_return false;
    }
    co_return true;
  }

  // Feeds the request body to `body` as the handler takes it (and, once the
  // response made a tunnel, every byte that arrives). True when the body
  // was read to its end.
  asio::awaitable<bool> pump(Body& body, H1Writer& writer) {
    body_aborted_ = false;
    body.on_consumed([this](std::size_t) { wake(); });
    body.on_abort([this](error_code) {
      body_aborted_ = true;
      if (reading_) transport_->cancel();
      wake();
    });
    // The handler may keep the body after the exchange: unhook it then.
    struct Unhook {
      Body& body;
      ~Unhook() {
        body.on_consumed(nullptr);
        body.on_abort(nullptr);
      }
    } unhook{body};
    const bool& aborted = body_aborted_;
    auto arm = [&] {
      auto next = Clock::now() + limits_.stream_idle_timeout;
      if (limits_.body_timeout.count() > 0) next = std::min(next, body_deadline_);
      read_watch_.expires_at(next);
    };
    body_deadline_ = Clock::now() + limits_.body_timeout;
    bool ended = false;
    for (;;) {
      if (aborted || handler_done_) break;
      if (writer.tunnel()) {
        bool complete = co_await pump_tunnel(body);
        co_return complete;
      }
      if (ended) {  // an Upgrade / CONNECT request: wait for the answer
        if (writer.head_sent()) {
          body.finish();  // not a tunnel: the (empty) request body ends here
          break;
        }
        co_await sleep();
        continue;
      }
      if (body.buffered() >= body.capacity()) {
        read_watch_.disarm();  // the handler is slow, not the client
        co_await sleep();
        continue;
      }
      std::string chunk;
      auto status = reader_.parse_body(chunk, body.capacity() - body.buffered());
      bool progress = !chunk.empty();
      if (progress) body.push(std::move(chunk));
      if (status == RequestReader::Status::kComplete) {
        ended = true;
        // An Upgrade / CONNECT waits for its answer with the body open: after
        // a 101 / 2xx it carries the tunnel's bytes, so a handler that reads
        // it before answering does not see an end that is not one.
        if (!may_tunnel_) {
          body.finish(reader_.take_trailers());
          break;
        }
        continue;
      }
      if (status != RequestReader::Status::kNeedMore) {
        bool too_large = status == RequestReader::Status::kBodyTooLarge;
        stats_.add(too_large ? Stats::kBodyTooLarge : Stats::kBadRequests);
        body.fail(make_error_code(too_large ? BodyError::kTooLarge : BodyError::kProtocol));
        if (!writer.head_sent()) {
          error_code ec;
          Response answer = Response::text(RequestReader::status_code(status),
                                           reason_phrase(RequestReader::status_code(status)));
          co_await writer.respond(std::move(answer), ec);
        }
        writer.refuse_keep_alive();
        co_return false;
      }
      // More body in what was read already: parse on, once the handler has
      // made room (the loop's top waits for that). Reading the socket
      // instead would wait for bytes a client that already sent everything
      // never sends. No progress with room means the parser waits for the
      // rest of a chunk-size line: read.
      if (reader_.buffered() > 0 && (progress || body.buffered() >= body.capacity())) continue;
      arm();
      error_code ec;
      if (!co_await read_more(ec)) {
        if (aborted || handler_done_) break;
        bool timeout = read_timed_out_;
        if (timeout) stats_.add(Stats::kRequestTimeouts);
        body.fail(make_error_code(timeout ? BodyError::kTimeout : BodyError::kReset));
        if (timeout && !writer.head_sent()) {
          error_code ignored;
          Response answer = Response::text(408, reason_phrase(408));
          co_await writer.respond(std::move(answer), ignored);
        }
        writer.refuse_keep_alive();
        co_return false;
      }
    }
    read_watch_.disarm();
    co_return ended;
  }

  // After a 101 / CONNECT 2xx: raw bytes to the handler until EOF.
  asio::awaitable<bool> pump_tunnel(Body& body) {
    std::string early = reader_.take_raw();
    if (!early.empty()) body.push(std::move(early));
    std::array<char, 16 * 1024> buffer;
    while (!handler_done_) {
      if (body.buffered() >= body.capacity()) {
        co_await sleep();
        continue;
      }
      read_watch_.expires_after(limits_.stream_idle_timeout);
      error_code ec;
      reading_ = true;
      std::size_t n = co_await transport_->read_some(asio::buffer(buffer), ec);
      reading_ = false;
      if (ec) {
        if (ec == asio::error::eof) {
          body.finish();
        } else {
          body.fail(make_error_code(read_timed_out_ ? BodyError::kTimeout : BodyError::kReset));
        }
        break;
      }
      body.push(std::string_view(buffer.data(), n));
    }
    read_watch_.disarm();
    co_return false;
  }

  // An error response, then a short lingering close: the peer may still be
  // sending the request we refused, and closing with unread data would make
  // the kernel reset the connection before the peer reads our answer.
  asio::awaitable<void> fail(int status) {
    count_response(stats_, status);
    Response r = Response::text(status, reason_phrase(status));
    std::string head = serialize_response_head(r, Version::http1_1, false, false);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(r.body)};
    read_timed_out_ = false;
    std::span<const asio::const_buffer> out(buffers);
    bool sent = co_await write(out);
    if (!sent) co_return;
    co_await linger();
  }

  asio::awaitable<void> linger() {
    transport_->shutdown_send();
    read_timed_out_ = false;
    read_watch_.expires_after(kLinger);
    std::array<char, 4096> sink;
    for (std::size_t drained = 0; drained < kMaxLingerBytes;) {
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
  Watchdog read_watch_;
  Watchdog write_watch_;
  asio::steady_timer wake_;
  // Of the exchange in progress. Weak: the writer holds the session.
  std::weak_ptr<H1Writer> writer_;
  HandlerCall handler_call_;  // of an inline handler (no request body)
  std::shared_ptr<Body> empty_body_;
  bool handler_running_ = false;
  Clock::time_point body_deadline_;
  bool idle_ = true;
  bool may_tunnel_ = false;  // the exchange in progress is an Upgrade or CONNECT
  bool reading_ = false;
  bool read_timed_out_ = false;
  bool handler_done_ = false;
  bool body_aborted_ = false;
  bool draining_ = false;
};

void append_hex(std::string& out, std::size_t v) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
  out.append(buf, r.ptr);
}

Framing H1Writer::framing_for(const ResponseHead& head, std::uint64_t& length) const {
  length = 0;
  bool declared = false;
  if (auto cl = head.headers.get("content-length")) {
    auto r = std::from_chars(cl->data(), cl->data() + cl->size(), length);
    declared = r.ec == std::errc() && r.ptr == cl->data() + cl->size();
    if (!declared) length = 0;
  }
  if (upgrade_ && head.status == 101) return Framing::kTunnel;
  // RFC 9110 §9.3.6: a 2xx to CONNECT has no content; the tunnel starts.
  if (connect_ && head.status >= 200 && head.status < 300) return Framing::kTunnel;
  if (!status_has_body(head.status) || head_request_) return Framing::kNone;
  if (declared) return Framing::kLength;
  return version_ == Version::http1_1 ? Framing::kChunked : Framing::kUntilClose;
}

asio::awaitable<void> H1Writer::send(std::span<const asio::const_buffer> buffers, error_code& ec) {
  bool sent = co_await session_->write(buffers);
  if (!sent) {
    failed_ = finished_ = true;
    ec = asio::error::broken_pipe;
  }
}

asio::awaitable<void> H1Writer::write_head(ResponseHead head, error_code& ec) {
  ec = {};
  if (head_sent_ || finished_) {
    ec = asio::error::already_started;
    co_return;
  }
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    if (version_ == Version::http1_0) co_return;  // HTTP/1.0 has no interim responses
    std::string text = serialize_head(head, version_, Framing::kNone, 0, true);
    asio::const_buffer b = asio::buffer(text);
    std::span<const asio::const_buffer> out(&b, 1);
    co_await send(out, ec);
    co_return;
  }
  if (head.status == 101 && !upgrade_) {
    ec = asio::error::invalid_argument;  // 101 answers an Upgrade request only
    co_return;
  }
  std::uint64_t length = 0;
  framing_ = framing_for(head, length);
  if (framing_ == Framing::kUntilClose) keep_alive_ = false;
  if (session_->draining()) keep_alive_ = false;
  if (auto c = head.headers.get("connection"); c && iequals(*c, "close")) keep_alive_ = false;
  remaining_ = length;
  head_sent_ = true;
  count_response(session_->stats(), head.status);
  std::string text = serialize_head(head, version_, framing_, length, keep_alive_,
                                    head_request_ && head.headers.contains("content-length"));
  // The body pump switches to raw bytes (a tunnel), or ends the request
  // body of an Upgrade / CONNECT that was refused.
  if (tunnel() || upgrade_ || connect_) session_->notify();
  if (framing_ == Framing::kLength && remaining_ > 0) {
    pending_head_ = std::move(text);  // a body must follow: sent with its first bytes
    co_return;
  }
  asio::const_buffer b = asio::buffer(text);
  std::span<const asio::const_buffer> out(&b, 1);
  co_await send(out, ec);
}

asio::awaitable<void> H1Writer::write(std::string_view bytes, error_code& ec) {
  ec = {};
  if (!head_sent_ || finished_) {
    ec = failed_ ? asio::error::broken_pipe : asio::error::not_connected;
    co_return;
  }
  if (bytes.empty() || framing_ == Framing::kNone) co_return;
  if (framing_ == Framing::kLength) {
    if (bytes.size() > remaining_) {
      ec = make_error_code(BodyError::kProtocol);  // more than the Content-Length announced
      co_return;
    }
    remaining_ -= bytes.size();
  }
  std::string size_line;
  std::array<asio::const_buffer, 4> buffers;
  std::size_t count = 0;
  std::string head = std::move(pending_head_);
  pending_head_.clear();
  if (!head.empty()) buffers[count++] = asio::buffer(head);
  if (framing_ == Framing::kChunked) {
    append_hex(size_line, bytes.size());
    size_line.append("\r\n");
    buffers[count++] = asio::buffer(size_line);
  }
  buffers[count++] = asio::buffer(bytes);
  if (framing_ == Framing::kChunked) buffers[count++] = asio::buffer("\r\n", 2);
  std::span<const asio::const_buffer> out(buffers.data(), count);
  co_await send(out, ec);
}

asio::awaitable<void> H1Writer::finish(Headers trailers, error_code& ec) {
  ec = {};
  if (!head_sent_) {
    ec = asio::error::not_connected;
    co_return;
  }
  if (finished_) co_return;
  if (framing_ == Framing::kLength && remaining_ > 0) {
    reset();  // shorter than announced: the client must see a broken response
    ec = make_error_code(BodyError::kProtocol);
    co_return;
  }
  finished_ = true;
  if (framing_ == Framing::kChunked) {
    std::string last = "0\r\n";
    for (auto& f : trailers) {
      if (is_connection_specific(f.name) || iequals(f.name, "content-length")) continue;
      for (char c : f.name) last.push_back(c == '\r' || c == '\n' ? ' ' : c);
      last.append(": ");
      for (char c : f.value) last.push_back(c == '\r' || c == '\n' ? ' ' : c);
      last.append("\r\n");
    }
    last.append("\r\n");
    asio::const_buffer b = asio::buffer(last);
    std::span<const asio::const_buffer> out(&b, 1);
    co_await send(out, ec);
  } else if (framing_ == Framing::kTunnel) {
    session_->transport().shutdown_send();
  }
}

asio::awaitable<void> H1Writer::respond(Response response, error_code& ec) {
  ec = {};
  if (head_sent_ || finished_) {
    ec = asio::error::already_started;
    co_return;
  }
  if (response.status == 101 || (response.status >= 100 && response.status < 200)) {
    ec = asio::error::invalid_argument;  // a whole response is a final one
    co_return;
  }
  head_sent_ = finished_ = true;
  count_response(session_->stats(), response.status);
  if (session_->draining()) keep_alive_ = false;
  if (auto c = response.headers.get("connection"); c && iequals(*c, "close")) keep_alive_ = false;
  if (connect_) keep_alive_ = false;  // a refused CONNECT: the client may have sent tunnel bytes already
  bool body = status_has_body(response.status) && !head_request_;
  framing_ = body ? Framing::kLength : Framing::kNone;
  std::string head = serialize_response_head(response, version_, keep_alive_, head_request_);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                            asio::buffer(body ? std::string_view(response.body) : "")};
  std::span<const asio::const_buffer> out(buffers);
  co_await send(out, ec);
}

void H1Writer::reset() {
  failed_ = finished_ = true;
  session_->close();
}

}  // namespace

asio::awaitable<void> serve_http1(std::unique_ptr<Transport> transport, ConnectionContext context,
                                  std::string initial) {
  auto session = std::make_shared<H1Session>(std::move(transport), std::move(context));
  co_await session->run(std::move(initial));
}

}  // namespace basalt::http
