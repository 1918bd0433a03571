// The request and response a handler sees, independent of the HTTP version
// and of the wire library.
//
// A server fills a RequestHead from HTTP/1.1 or HTTP/2 and turns a
// ResponseHead into the right wire form; the client does the reverse. The
// heads travel first and the body follows as a stream (body.hpp); Request
// and Response are the whole-message forms the buffered Handler uses.
// Plain values: copyable, movable, thread-compatible.
#pragma once

#include "basalt/core/ip.hpp"
#include "basalt/http/headers.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::http {

enum class Version : std::uint8_t { http1_0, http1_1, http2 };

// "HTTP/1.0", "HTTP/1.1", "HTTP/2".
std::string_view to_string(Version version) noexcept;

// What arrives before a request's body: the request line (or HTTP/2
// pseudo-headers) and the header fields.
struct RequestHead {
  std::string method;  // as received, e.g. "GET" (methods are case-sensitive)
  std::string target;  // request target as received: "/dns-query?dns=AAAB"
  std::string path;    // target before '?', percent-decoding not applied
  // Query parameters in order, names and values percent-decoded and '+' read
  // as a space (application/x-www-form-urlencoded, as browsers send them).
  std::vector<std::pair<std::string, std::string>> query;
  std::string authority;  // Host header or HTTP/2 :authority
  std::string scheme;     // "https" or "http"
  // HTTP/2 extended CONNECT (RFC 8441) :protocol, e.g. "websocket"; empty otherwise.
  std::string protocol;
  Headers headers;
  core::Endpoint remote;  // peer address of the connection
  Version version = Version::http1_1;

  // The first query parameter called `name` (case-sensitive), decoded.
  std::optional<std::string_view> query_param(std::string_view name) const noexcept;

  // Sets target and splits it into path and decoded query. Never fails:
  // malformed percent escapes are kept literally.
  void set_target(std::string_view target);
};

// A whole request, body included (the buffered Handler's view).
struct Request : RequestHead {
  std::string body;
};

// A response's status line and header fields.
struct ResponseHead {
  int status = 200;
  Headers headers;
};

// A whole response, body included.
struct Response : ResponseHead {
  std::string body;

  Response() = default;
  Response(int status_code, std::string body_text = {}, std::string_view content_type = {});

  // A short text response: "<status> <reason>\n" as text/plain.
  static Response text(int status_code, std::string_view text);
};

// The standard reason phrase ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status) noexcept;

// Percent-decodes `text`; with `plus_is_space`, '+' becomes ' '. Invalid
// escapes are copied unchanged.
std::string percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace basalt::http
