// HTTP/1.x response heads: status line and header fields as wire text.
#pragma once

#include "basalt/http/message.hpp"

#include <cstdint>
#include <string>

namespace basalt::http {

// How a response body is delimited on HTTP/1.x.
enum class Framing : std::uint8_t {
  kNone,        // no body (1xx, 204, 304, or the head of a HEAD request)
  kLength,      // Content-Length
  kChunked,     // Transfer-Encoding: chunked (HTTP/1.1)
  kUntilClose,  // the connection closes after the body (HTTP/1.0, unknown length)
  kTunnel,      // 101 / CONNECT 2xx: raw bytes both ways from here on
};

// The status line and fields of `head`, ending in the blank line. Drops
// fields the handler must not set (Content-Length, Transfer-Encoding,
// Connection, Keep-Alive; Upgrade except on a 101) and writes the framing
// ones: Content-Length `length` (also for a HEAD request's kNone when
// `announce_length`), Transfer-Encoding: chunked, Connection.
std::string serialize_head(const ResponseHead& head, Version version, Framing framing, std::uint64_t length,
                           bool keep_alive, bool announce_length = false);

// A whole response's head: Content-Length is the body size (announced for
// HEAD requests too).
std::string serialize_response_head(const Response& response, Version version, bool keep_alive,
                                    bool head_request);

// False for 1xx, 204 and 304, which never carry content.
bool status_has_body(int status) noexcept;

// True for HTTP/1 and HTTP/2 connection-specific fields that must not be
// forwarded or sent on HTTP/2 (RFC 9113 §8.2.2).
bool is_connection_specific(std::string_view name) noexcept;

}  // namespace basalt::http
