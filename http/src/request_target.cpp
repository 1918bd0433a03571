#include "request_target.hpp"

#include <boost/url/parse.hpp>

namespace basalt::http {

namespace {
// Out of line: g++ 12 -O2 reports a false -Wstringop-overflow when these
// string constructions are inlined into parse_target.
[[gnu::noinline]] std::string copy(std::string_view s) {
  return std::string(s);
}
}  // namespace

std::optional<RequestTarget> parse_target(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return std::nullopt;
  RequestTarget t;
  t.scheme = copy(u->scheme());
  if (t.scheme != "http" && t.scheme != "https") return std::nullopt;
  if (!u->has_authority() || u->host().empty()) return std::nullopt;
  t.host = u->host_type() == boost::urls::host_type::ipv6 ? copy(u->encoded_host_address())
                                                          : copy(u->encoded_host());
  if (u->has_port()) {
    auto port = u->port_number();
    if (port == 0) return std::nullopt;
    t.port = port;
  } else {
    t.port = t.scheme == "https" ? 443 : 80;
  }
  t.authority = copy(u->encoded_host_and_port());
  t.host_header = t.authority;
  // path?query (no fragment); an empty path is "/".
  auto target = u->encoded_target();
  t.path = target.empty() || target.front() != '/' ? copy("/" + copy(target)) : copy(target);
  return t;
}

bool idempotent_method(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE";
}

}  // namespace basalt::http
