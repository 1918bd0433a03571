// The server side of one HTTP/2 connection as a state machine without I/O:
// bytes in, requests out, responses in, bytes out (nghttp2's session API).
//
// The socket session (h2_server_session.cpp) and the fuzz target drive it.
// It enforces the Limits that live at the frame level: header list and
// header block size, CONTINUATION count, body size, concurrent streams, and
// the abuse budgets (resets, SETTINGS, PING, empty frames, queued ACKs),
// answering with 431/413/408, RST_STREAM or GOAWAY and counting in Stats.
// Single-threaded.
#pragma once

#include "basalt/http/limits.hpp"
#include "basalt/http/message.hpp"
#include "basalt/http/stats.hpp"

#include <chrono>
#include <cstdint>
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

  H2ServerProtocol(const Limits& limits, Stats& stats, core::Endpoint remote, bool secure);
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

  // Requests whose last byte arrived since the last call, with stream ids.
  std::vector<std::pair<std::int32_t, Request>> take_requests();

  // Handler bookkeeping (for idleness). Handlers of streams the peer reset
  // keep counting against max_concurrent_streams until respond() is called
  // for them, so call respond() when every handler finishes.
  void handler_started() { ++handlers_running_; }
  void handler_finished() { --handlers_running_; }
  std::size_t handlers_running() const { return handlers_running_; }

  // Sends the response on `stream_id`; ignored when the stream is gone.
  void respond(std::int32_t stream_id, Response response, bool head_request);

  // Graceful: GOAWAY(NO_ERROR) with the last stream we process; streams
  // already open finish.
  void shutdown_notice();
  // GOAWAY with `error_code`; the connection ends after it is sent.
  void terminate(std::uint32_t error_code);

  std::size_t open_streams() const { return streams_.size(); }
  // Streams whose request has not fully arrived by `now` get 408.
  void expire_requests(Clock::time_point now);
  // The earliest request deadline of an incomplete request, or max.
  Clock::time_point next_request_deadline() const;

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
  std::span<const std::uint8_t> advertise_stream_limit(std::span<const std::uint8_t> out);

  const Limits& limits_;
  Stats& stats_;
  core::Endpoint remote_;
  bool secure_;
  struct Session;
  std::unique_ptr<Session> session_;
  std::unordered_map<std::int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::pair<std::int32_t, Request>> ready_;
  std::size_t handlers_running_ = 0;
  std::unordered_set<std::int32_t> orphans_;  // reset streams whose handler still runs
  bool settings_sent_ = false;
  std::vector<std::uint8_t> first_settings_;
  bool failed_ = false;
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
