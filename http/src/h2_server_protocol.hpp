// The server side of one HTTP/2 connection as a state machine without I/O:
// bytes in, request heads and body bytes out, responses in, bytes out
// (nghttp2's session API).
//
// The socket session (h2_server_session.cpp), the unit tests and the fuzz
// target drive it. A request is handed out as soon as its header block is
// complete, with a Body that DATA frames feed; WINDOW_UPDATE for a stream
// (and for the connection) is sent only for bytes its handler has taken
// from that Body, so a slow handler slows its client instead of growing
// memory. A response is sent either whole (respond()) or as a head followed
// by a Body the DATA frames are read from (send_head()).
//
// It enforces the Limits that live at the frame level: header list and
// header block size, CONTINUATION count, body size, concurrent streams,
// body and stream idle timeouts, and the abuse budgets (resets, SETTINGS,
// PING, empty frames, queued ACKs), answering with 431/413/408,
// RST_STREAM or GOAWAY and counting in Stats. Single-threaded: every call,
// and every Body it hands out, on the connection's executor.
#pragma once

#include "basalt/http/body.hpp"
#include "basalt/http/limits.hpp"
#include "basalt/http/message.hpp"
#include "basalt/http/stats.hpp"
#include "basalt/http/stream_handler.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace basalt::http {

class H2ServerProtocol {
 public:
  using Clock = std::chrono::steady_clock;

  // `executor` is where the request and response Bodies live.
  H2ServerProtocol(boost::asio::any_io_executor executor, const Limits& limits, Stats& stats,
                   core::Endpoint remote, bool secure);
  ~H2ServerProtocol();
  H2ServerProtocol(const H2ServerProtocol&) = delete;
  H2ServerProtocol& operator=(const H2ServerProtocol&) = delete;

  // Feeds received bytes. Returns false when the connection is beyond
  // repair; a GOAWAY is queued when one applies (flush, then close).
  bool receive(std::span<const std::uint8_t> bytes);

  // The next bytes to send, empty when nothing is pending. Valid until the
  // next call to any member.
  std::span<const std::uint8_t> next_output();

  // Both false: the connection is finished (flush, then close).
  bool wants_read() const;
  bool wants_write() const;
  bool failed() const { return failed_; }

  // Called when output became pending outside receive(): a handler took
  // request bytes (WINDOW_UPDATE), wrote response bytes, aborted a body.
  // The session wakes its writer (and may read next_deadline()).
  void on_output(std::function<void()> f) { on_output_ = std::move(f); }

  // Requests whose head arrived since the last call, with stream ids. Each
  // counts as a running handler until handler_finished(id).
  std::vector<std::pair<std::int32_t, ServerRequest>> take_requests();

  // The handler of `stream_id` returned. Handlers of streams the peer reset
  // keep counting against max_concurrent_streams until then (rapid reset).
  // A stream still without a response gets 500; a request body nobody
  // reads any more is dropped (then RST_STREAM(NO_ERROR) if it goes on).
  void handler_finished(std::int32_t stream_id);
  std::size_t handlers_running() const { return handlers_running_; }

  // ---- responses ---------------------------------------------------------
  enum class ResponseState { kNone, kHeadSent, kEnded, kGone };
  // kGone: the stream was reset or closed, or the connection is gone.
  ResponseState response_state(std::int32_t stream_id) const;

  // An informational head (1xx other than 101); several are allowed.
  boost::system::error_code send_interim(std::int32_t stream_id, const ResponseHead& head);
  // The final head. With `body`, DATA frames carry what is pushed into it
  // (Body::take) and END_STREAM (plus trailers) follows its finish(); the
  // stream's DATA waits (no busy loop) while it is empty. Without, the head
  // ends the stream. A content-length field is passed through as given.
  // Fails with BodyError::kReset when the stream is gone, already_started
  // after another final head.
  boost::system::error_code send_head(std::int32_t stream_id, const ResponseHead& head,
                                      std::shared_ptr<Body> body);
  // The whole response at once (head, body, END_STREAM); ignored when the
  // stream is gone or has a response already.
  void respond(std::int32_t stream_id, Response response, bool head_request);
  // RST_STREAM(error_code) unless the stream is gone.
  void reset(std::int32_t stream_id, std::uint32_t error_code);

  // Graceful: GOAWAY(NO_ERROR) with the last stream we process; streams
  // already open finish.
  void shutdown_notice();
  // The first half of a graceful shutdown (RFC 9113 6.8): GOAWAY(NO_ERROR)
  // naming stream 2^31-1, so the client starts no new stream while those it
  // sent meanwhile are still served; shutdown_notice() about a round trip
  // later names the last one.
  void announce_shutdown();
  // GOAWAY with `error_code`; the connection ends after it is sent.
  void terminate(std::uint32_t error_code);
  // The connection is gone: every request body fails with
  // BodyError::kReset, every response body aborts with it, and from now on
  // nothing is received or sent.
  void close();

  std::size_t open_streams() const { return streams_.size(); }
  // Applies request_timeout (head not complete), body_timeout and
  // stream_idle_timeout to every stream as of `now`: 408 before the
  // response started, else RST_STREAM(CANCEL); the request body fails with
  // BodyError::kTimeout.
  void expire(Clock::time_point now);
  // The earliest of those deadlines, or max.
  Clock::time_point next_deadline() const;

 private:
  struct Stream;
  struct Callbacks;
  struct Window {
    Clock::time_point start{};
    std::uint32_t count = 0;
    bool over(std::uint32_t limit, Clock::duration window, Clock::time_point now);
  };

  bool calm(Stats::Counter reason);
  bool check_frame(std::uint8_t type, std::uint8_t flags, std::size_t length);
  std::size_t scan(std::span<const std::uint8_t> bytes);
  void respond_internal(Stream& stream, Response response, bool head_request);
  Stream* find(std::int32_t id);
  const Stream* find(std::int32_t id) const;
  std::span<const std::uint8_t> advertise_stream_limit(std::span<const std::uint8_t> out);
  void dispatch(Stream& stream, bool end_stream);
  void release_body(Stream& stream, boost::system::error_code fail_with, bool stream_alive = true);
  void discard(Stream& stream, std::size_t len);
  void fail_stream(Stream& stream, BodyError why);
  void reset_stream(Stream& stream, std::uint32_t error_code, BodyError why);
  void give_up(Stream& stream, int status, BodyError why);
  Clock::time_point deadline_of(const Stream& stream) const;
  void notify() {
    if (on_output_) on_output_();
  }

  boost::asio::any_io_executor executor_;
  const Limits& limits_;
  Stats& stats_;
  core::Endpoint remote_;
  bool secure_;
  struct Session;
  std::unique_ptr<Session> session_;
  std::unordered_map<std::int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::pair<std::int32_t, ServerRequest>> ready_;
  std::size_t handlers_running_ = 0;
  std::unordered_set<std::int32_t> orphans_;  // reset streams whose handler still runs
  std::function<void()> on_output_;
  bool settings_sent_ = false;
  std::vector<std::uint8_t> first_settings_;
  bool failed_ = false;
  bool closed_ = false;
  std::uint32_t fatal_code_ = 0;
  std::size_t block_bytes_ = 0;
  std::size_t continuations_ = 0;
  Window resets_, settings_, pings_, empty_;
  struct Scanner {
    std::size_t preface_left = 24;
    std::uint8_t header[9] = {};
    std::size_t have = 0;
    std::size_t payload_left = 0;
  } scan_;
};

}  // namespace basalt::http
