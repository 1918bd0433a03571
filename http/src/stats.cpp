#include "basalt/http/stats.hpp"

namespace basalt::http {

StatsSnapshot Stats::snapshot() const noexcept {
  auto v = [&](Counter c) { return counters_[c].load(std::memory_order_relaxed); };
  StatsSnapshot s;
  s.connections_accepted = v(kConnectionsAccepted);
  s.connections_active = v(kConnectionsActive);
  s.tls_handshake_failures = v(kTlsHandshakeFailures);
  s.requests_http1 = v(kRequestsHttp1);
  s.requests_http2 = v(kRequestsHttp2);
  s.responses_4xx = v(kResponses4xx);
  s.responses_5xx = v(kResponses5xx);
  s.bad_requests = v(kBadRequests);
  s.header_too_large = v(kHeaderTooLarge);
  s.body_too_large = v(kBodyTooLarge);
  s.request_timeouts = v(kRequestTimeouts);
  s.idle_timeouts = v(kIdleTimeouts);
  s.handler_timeouts = v(kHandlerTimeouts);
  s.handler_exceptions = v(kHandlerExceptions);
  s.write_timeouts = v(kWriteTimeouts);
  s.streams_refused = v(kStreamsRefused);
  s.h2_protocol_errors = v(kH2ProtocolErrors);
  s.h2_rapid_resets = v(kH2RapidResets);
  s.h2_header_floods = v(kH2HeaderFloods);
  s.h2_settings_floods = v(kH2SettingsFloods);
  s.h2_ping_floods = v(kH2PingFloods);
  s.h2_empty_frame_floods = v(kH2EmptyFrameFloods);
  s.h2_control_queue_floods = v(kH2ControlQueueFloods);
  // HTTP/2 streaming
  s.h2_stream_timeouts = v(kH2StreamTimeouts);
  return s;
}

}  // namespace basalt::http
