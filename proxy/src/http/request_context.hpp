// What a template and a handler see of one HTTP request: the package's
// `IRouteContext` variables. A route's `headers.request` / `headers.response`
// values, an httpRedirect `location`, httpBlock / httpStatic bodies and the
// urlRewrite target are templates: `{name}` is replaced by the variable
// `name`, an unknown `{...}` is kept as written.
//
//   {port} {domain} {clientIp} {serverIp} {path} {query} {isTls}
//   {tlsVersion} {routeName} {routeId} {targetHost} {targetPort}
//   {timestamp} {connectionId} {requestId} {method} {url}
//
// {url} is path plus "?query" when there is one. A plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace basalt::proxy {

struct RequestContext {
  std::uint16_t port = 0;  // the port the client connected to
  std::string domain;      // the Host without port
  std::string client_ip;
  std::string server_ip;
  std::string method;
  std::string path;   // before '?'
  std::string query;  // after '?', without it
  bool is_tls = false;
  std::string tls_version;  // "TLSv1.3", or ""
  std::string route_name;
  std::string route_id;
  std::string target_host;
  std::uint16_t target_port = 0;
  std::uint64_t connection_id = 0;
  std::string request_id;
};

// `text` with every known {variable} replaced. Never fails.
std::string expand(std::string_view text, const RequestContext& context);

// True when `text` holds at least one '{' (worth expanding).
inline bool is_template(std::string_view text) noexcept {
  return text.find('{') != std::string_view::npos;
}

}  // namespace basalt::proxy
