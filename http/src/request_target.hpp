// Where a client request goes, parsed from its absolute URL: what the
// connection pool keys on and what the HTTP/1.1 request line and HTTP/2
// pseudo-headers are made of.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::http {

struct RequestTarget {
  std::string scheme;  // "https" / "http"
  std::string host;    // without brackets
  std::uint16_t port = 0;
  std::string authority;  // host[:port] as sent
  std::string path;       // path?query, at least "/"
};

// An absolute http(s) URL with a host, or nullopt.
std::optional<RequestTarget> parse_target(std::string_view url);

// RFC 9110 §9.2.2: a request the client may send again after a failure.
bool idempotent_method(std::string_view method) noexcept;

}  // namespace basalt::http
