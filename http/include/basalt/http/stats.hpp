// Counters a Server keeps: connections, requests, and every limit or abuse
// defence that fired.
//
// Counters are relaxed atomics updated from every worker; read them any
// time (e.g. for a Prometheus endpoint) with snapshot(). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace basalt::http {

struct StatsSnapshot {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_active = 0;
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t requests_http1 = 0;
  std::uint64_t requests_http2 = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t bad_requests = 0;        // 400: malformed HTTP/1.1 or HTTP/2 request
  std::uint64_t header_too_large = 0;    // 431
  std::uint64_t body_too_large = 0;      // 413
  std::uint64_t request_timeouts = 0;    // 408
  std::uint64_t idle_timeouts = 0;       // idle keep-alive / HTTP/2 closed
  std::uint64_t handler_timeouts = 0;    // 503
  std::uint64_t handler_exceptions = 0;  // 500
  std::uint64_t write_timeouts = 0;
  std::uint64_t streams_refused = 0;          // RST_STREAM(REFUSED_STREAM) sent
  std::uint64_t h2_protocol_errors = 0;       // GOAWAY with an error code other than ENHANCE_YOUR_CALM
  std::uint64_t h2_rapid_resets = 0;          // GOAWAY: reset budget exceeded
  std::uint64_t h2_header_floods = 0;         // GOAWAY: CONTINUATION / header block cap
  std::uint64_t h2_settings_floods = 0;       // GOAWAY: SETTINGS budget exceeded
  std::uint64_t h2_ping_floods = 0;           // GOAWAY: PING budget exceeded
  std::uint64_t h2_empty_frame_floods = 0;    // GOAWAY: empty frame budget exceeded
  std::uint64_t h2_control_queue_floods = 0;  // unsent ACKs over the cap
  // HTTP/2 streaming
  std::uint64_t h2_stream_timeouts = 0;  // RST_STREAM(CANCEL): body/idle timeout after the response started
};

class Stats {
 public:
  StatsSnapshot snapshot() const noexcept;

  // Internal: incremented by the server.
  enum Counter : unsigned {
    kConnectionsAccepted,
    kConnectionsActive,
    kTlsHandshakeFailures,
    kRequestsHttp1,
    kRequestsHttp2,
    kResponses4xx,
    kResponses5xx,
    kBadRequests,
    kHeaderTooLarge,
    kBodyTooLarge,
    kRequestTimeouts,
    kIdleTimeouts,
    kHandlerTimeouts,
    kHandlerExceptions,
    kWriteTimeouts,
    kStreamsRefused,
    kH2ProtocolErrors,
    kH2RapidResets,
    kH2HeaderFloods,
    kH2SettingsFloods,
    kH2PingFloods,
    kH2EmptyFrameFloods,
    kH2ControlQueueFloods,
    // HTTP/2 streaming
    kH2StreamTimeouts,
    kCount
  };
  void add(Counter c, std::int64_t n = 1) noexcept {
    counters_[c].fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> counters_[kCount] = {};
};

}  // namespace basalt::http
