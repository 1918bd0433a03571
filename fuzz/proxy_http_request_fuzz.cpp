// What basalt-proxy itself reads of an HTTP request, beyond the http/
// parsers (http_request_fuzz, http_h2_fuzz): the request-level route match
// (Host without port, path globs, header patterns with regexes), the
// hop-by-hop and X-Forwarded-* rewriting (Connection tokens), basic-auth
// credentials and the templates filled from the request. The input is a
// request head in a simple line form: "authority\npath\nname: value\n...".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "basalt/http/message.hpp"
#include "basalt/proxy/options.hpp"
#include "http/forward_headers.hpp"
#include "http/request_context.hpp"
#include "routes/route_table.hpp"
#include "security/basic_auth_check.hpp"

namespace {

using namespace basalt;

std::shared_ptr<const proxy::RouteTable> table() {
  auto route = [](std::string name, std::vector<std::string> domains, std::optional<std::string> path,
                  std::map<std::string, std::string> headers) {
    proxy::RouteConfig r;
    r.name = std::move(name);
    r.match.ports.ranges.push_back({80, 80});
    r.match.domains = std::move(domains);
    r.match.path = std::move(path);
    r.match.headers = std::move(headers);
    r.action.targets.push_back({{"127.0.0.1"}, false, 8080, 1});
    return r;
  };
  std::vector<proxy::RouteConfig> routes;
  routes.push_back(route("api", {"a.test", "*.b.test"}, "/api/*/v?", {{"x-env", "/^(prod|stage)-[0-9]+$/"}}));
  routes.push_back(route("exact", {"x.b.test"}, "/*.html", {}));
  routes.push_back(route("any", {}, std::nullopt, {{"accept", "text/html"}}));
  routes.push_back(route("last", {}, "*", {}));
  return proxy::RouteTable::build(std::move(routes));
}

const proxy::BasicAuthCheck& auth() {
  static const proxy::BasicAuthCheck check(
      proxy::BasicAuth{{{"alice", "s3cret"}, {"bob", ""}}, "realm", {"/public/*"}});
  return check;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto routes = table();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  http::RequestHead req;
  auto next_line = [&input]() {
    auto nl = input.find('\n');
    auto line = input.substr(0, nl);
    input.remove_prefix(nl == std::string_view::npos ? input.size() : nl + 1);
    return line;
  };
  req.authority = std::string(next_line());
  req.set_target(next_line());
  while (!input.empty()) {
    auto line = next_line();
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    req.headers.add(line.substr(0, colon), value);
  }
  req.method = "GET";

  const auto* route = routes->for_request(80, core::IpAddress::v4_loopback(), req, false);
  (void)route;

  auto headers = req.headers;
  proxy::strip_hop_by_hop(headers, true);
  proxy::HttpOptions options;
  options.forwarded = true;
  options.via = true;
  proxy::ForwardedFor who{core::IpAddress::v4_loopback(), true, "https", req.authority};
  proxy::add_forwarding(headers, who, options, "1.1");

  (void)auth().allows(req.path, req.headers.get("authorization").value_or(""));

  proxy::RequestContext ctx;
  ctx.domain = req.authority;
  ctx.path = req.path;
  (void)proxy::expand(req.target, ctx);
  return 0;
}
