// strip_hop_by_hop and add_forwarding (forward_headers.hpp).
#include "http/forward_headers.hpp"

#include <array>
#include <vector>

#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

namespace {

constexpr std::array<std::string_view, 7> kHopByHop{
    "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate"};

// The comma-separated tokens of a Connection field, trimmed.
std::vector<std::string> connection_tokens(const http::Headers& headers) {
  std::vector<std::string> tokens;
  for (auto value : headers.get_all("connection")) {
    while (!value.empty()) {
      auto comma = value.find(',');
      auto token = value.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty() && tokens.size() < 32) tokens.emplace_back(token);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
  return tokens;
}

std::string forwarded_node(const core::IpAddress& ip) {
  std::string text = ip.to_string();
  return ip.is_v4() ? text : "\"[" + text + "]\"";
}

}  // namespace

void strip_hop_by_hop(http::Headers& headers, bool keep_upgrade) {
  for (const auto& token : connection_tokens(headers)) {
    if (keep_upgrade && http::iequals(token, "upgrade")) continue;
    headers.erase(token);
  }
  const bool upgrading = keep_upgrade && headers.contains("upgrade");
  headers.erase("connection");
  for (auto name : kHopByHop) {
    if (upgrading && name == "upgrade") continue;
    headers.erase(name);
  }
  if (upgrading) headers.set("connection", "upgrade");
}

void add_forwarding(http::Headers& headers, const ForwardedFor& who, const HttpOptions& options,
                    std::string_view via_protocol) {
  const std::string client = who.client.to_string();
  if (options.forwarded_headers) {
    auto previous = who.trusted ? headers.get("x-forwarded-for") : std::nullopt;
    std::string xff = previous ? std::string(*previous) + ", " + client : client;
    headers.set("x-forwarded-for", xff);
    if (!who.trusted || !headers.contains("x-forwarded-proto")) headers.set("x-forwarded-proto", who.proto);
    if (!who.trusted || !headers.contains("x-forwarded-host")) {
      if (who.host.empty()) {
        headers.erase("x-forwarded-host");
      } else {
        headers.set("x-forwarded-host", who.host);
      }
    }
  }
  if (options.forwarded) {
    std::string element = "for=" + forwarded_node(who.client) + ";proto=" + std::string(who.proto);
    if (!who.host.empty()) element += ";host=\"" + std::string(who.host) + "\"";
    auto previous = who.trusted ? headers.get("forwarded") : std::nullopt;
    headers.set("forwarded", previous ? std::string(*previous) + ", " + element : element);
  }
  if (options.via) {
    std::string mine = std::string(via_protocol) + " basalt-proxy";
    auto previous = headers.get("via");
    headers.set("via", previous ? std::string(*previous) + ", " + mine : mine);
  }
}

}  // namespace basalt::proxy
