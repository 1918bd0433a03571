// Where a client request goes, parsed from its absolute URL: what the
// connection pool keys on and what the HTTP/1.1 request line and HTTP/2
// pseudo-headers are made of.
#pragma once

#include "basalt/core/ip.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::http {

struct RequestTarget {
  std::string scheme;  // "https" / "http"
  std::string host;    // without brackets
  std::uint16_t port = 0;
  std::string authority;  // host[:port] of the URL
  std::string path;       // path?query, at least "/"
  // What Host / :authority carry: `authority` unless the request overrides it.
  std::string host_header;
  // Connect here instead of resolving `host` (ClientRequest::connect_to).
  std::optional<core::Endpoint> connect_to;
};

// An absolute http(s) URL with a host, or nullopt.
std::optional<RequestTarget> parse_target(std::string_view url);

// RFC 9110 §9.2.2: a request the client may send again after a failure.
bool idempotent_method(std::string_view method) noexcept;

}  // namespace basalt::http
