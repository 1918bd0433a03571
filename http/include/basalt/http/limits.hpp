// Limits a Server enforces on every connection, with their defaults.
//
// Each limit, when exceeded, is answered the HTTP way and counted in Stats:
// request line 414, header size or count 431, body size 413, request
// timeout 408, handler timeout 503,
// too many HTTP/2 streams RST_STREAM(REFUSED_STREAM), HTTP/2 abuse GOAWAY
// (ENHANCE_YOUR_CALM). docs/http.md explains the defaults and compares them
// with nginx, Envoy and h2o.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace basalt::http {

struct Limits {
  // Request line + header fields (HTTP/1.1), or the decoded header list
  // (HTTP/2, also announced as SETTINGS_MAX_HEADER_LIST_SIZE). -> 431
  std::size_t max_header_bytes = 16 * 1024;
  // HTTP/1.1 request line (method, target, version). -> 414
  std::size_t max_request_line_bytes = 8 * 1024;
  // Header fields in one request (HTTP/1.1 and HTTP/2, trailers too). -> 431
  std::size_t max_header_count = 100;
  // Request body after de-chunking; 0 = no limit (a streaming proxy). A
  // declared Content-Length over it is refused before the body is read;
  // a body that grows past it fails with BodyError::kTooLarge and, if the
  // response has not started, 413. Buffered handlers (Handler) always have
  // one: 0 means 1 MiB for them.
  std::size_t max_body_bytes = 1024 * 1024;
  // HTTP/1.1 requests served on one connection before "Connection: close".
  std::size_t max_requests_per_connection = 1000;

  // A connection with no request in progress (HTTP/1.1 keep-alive, or
  // HTTP/2 with no open stream) is closed after this; HTTP/2 says GOAWAY.
  std::chrono::milliseconds idle_timeout{60'000};
  // From the first byte of a request to the end of its head (request line
  // and header fields). -> 408
  std::chrono::milliseconds request_timeout{30'000};
  // From the end of the head to the last byte of the body; 0 = none (the
  // body may stream as long as it keeps moving). -> 408 before the
  // response started, else the stream is reset.
  std::chrono::milliseconds body_timeout{30'000};
  // A request or response body that moves no byte for this long (the peer
  // neither sends nor reads). -> 408 before the response started, else
  // reset (HTTP/2 RST_STREAM(CANCEL), HTTP/1.1 close). Envoy's
  // stream_idle_timeout.
  std::chrono::milliseconds stream_idle_timeout{300'000};
  // A handler that has not sent its response head by then. -> 503
  std::chrono::milliseconds handler_timeout{60'000};
  // A response write that does not finish (peer not reading): close.
  std::chrono::milliseconds write_timeout{30'000};
  // TLS handshake (and, for cleartext, the first bytes that pick the version).
  std::chrono::milliseconds handshake_timeout{10'000};

  // HTTP/2 --------------------------------------------------------------
  // SETTINGS_MAX_CONCURRENT_STREAMS; also caps handlers still running for
  // streams the peer already reset. Over it: RST_STREAM(REFUSED_STREAM).
  std::uint32_t max_concurrent_streams = 100;
  // SETTINGS_INITIAL_WINDOW_SIZE for request bodies: what one stream may
  // have in flight before its handler reads. WINDOW_UPDATE is sent only for
  // bytes the handler has taken, so a slow handler slows its client.
  std::uint32_t initial_window_size = 256 * 1024;
  // The connection-level receive window (all streams together).
  std::uint32_t connection_window_size = 1024 * 1024;
  // Raw HPACK bytes of one header block across HEADERS + CONTINUATION
  // frames (CVE-2024-27316). Over it: GOAWAY(ENHANCE_YOUR_CALM).
  std::size_t max_header_block_bytes = 64 * 1024;
  // CONTINUATION frames after one HEADERS frame.
  std::size_t max_continuations = 16;
  // Abuse budgets per `abuse_window`. Over any: GOAWAY(ENHANCE_YOUR_CALM).
  std::chrono::milliseconds abuse_window{10'000};
  std::uint32_t max_resets_per_window = 200;        // RST_STREAM from the peer (CVE-2023-44487)
  std::uint32_t max_settings_per_window = 100;      // SETTINGS frames
  std::uint32_t max_pings_per_window = 100;         // PING frames
  std::uint32_t max_empty_frames_per_window = 100;  // DATA/HEADERS/CONTINUATION without payload or END_STREAM
  // Control-frame answers (SETTINGS/PING ACKs) queued but not yet sent,
  // e.g. because the peer does not read. Over it the connection is closed
  // without GOAWAY (it would queue behind the ACKs). Keep it above the
  // SETTINGS + PING budgets so those answer with GOAWAY first.
  std::size_t max_queued_control_frames = 1000;
};

}  // namespace basalt::http
