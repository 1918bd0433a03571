// expand() (request_context.hpp).
#include "http/request_context.hpp"

#include <chrono>

namespace basalt::proxy {

namespace {

// Appends the variable `name`; false when it is not one.
bool append_variable(std::string& out, std::string_view name, const RequestContext& c) {
  if (name == "domain") {
    out += c.domain;
  } else if (name == "path") {
    out += c.path;
  } else if (name == "query") {
    out += c.query;
  } else if (name == "url") {
    out += c.path;
    if (!c.query.empty()) out.append("?").append(c.query);
  } else if (name == "clientIp") {
    out += c.client_ip;
  } else if (name == "serverIp") {
    out += c.server_ip;
  } else if (name == "port") {
    out += std::to_string(c.port);
  } else if (name == "method") {
    out += c.method;
  } else if (name == "isTls") {
    out += c.is_tls ? "true" : "false";
  } else if (name == "tlsVersion") {
    out += c.tls_version;
  } else if (name == "routeName") {
    out += c.route_name;
  } else if (name == "routeId") {
    out += c.route_id;
  } else if (name == "targetHost") {
    out += c.target_host;
  } else if (name == "targetPort") {
    if (c.target_port != 0) out += std::to_string(c.target_port);
  } else if (name == "timestamp") {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    out += std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  } else if (name == "connectionId") {
    out += std::to_string(c.connection_id);
  } else if (name == "requestId") {
    out += c.request_id;
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::string expand(std::string_view text, const RequestContext& context) {
  std::string out;
  out.reserve(text.size() + 32);
  std::size_t i = 0;
  while (i < text.size()) {
    const auto open = text.find('{', i);
    if (open == std::string_view::npos) break;
    const auto close = text.find('}', open + 1);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    const auto name = text.substr(open + 1, close - open - 1);
    if (!append_variable(out, name, context)) out.append(text.substr(open, close - open + 1));
    i = close + 1;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace basalt::proxy
