// Fuzzes the proxy's config decoder and route table: any YAML must either
// decode or throw core::config::Error (never crash, hang or throw anything
// else); options that decode must build a route table, and matching on it
// must agree with itself: a route chosen at accept is the one after_hello()
// picks when the bytes turn out not to be TLS, and a chosen route is
// enabled, listens on the port and admits the client.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "basalt/core/config.hpp"
#include "basalt/proxy/options.hpp"
#include "l4/client_hello.hpp"
#include "routes/route_table.hpp"

using namespace basalt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  proxy::ProxyOptions options;
  try {
    options = proxy::decode_options(core::config::parse_yaml(text, "fuzz.yaml"));
  } catch (const core::config::Error&) {
    return 0;
  }
  const auto table = proxy::RouteTable::build(options.routes, options.defaults);
  const auto& ports = table->ports();
  if (!std::is_sorted(ports.begin(), ports.end()) ||
      std::adjacent_find(ports.begin(), ports.end()) != ports.end()) {
    std::abort();
  }

  const core::IpAddress clients[] = {core::IpAddress::v4(0x0a000001u), core::IpAddress::v4(0xc0a80101u),
                                     core::IpAddress::v4(0x0a000001u).to_v6(),
                                     core::IpAddress::v6_loopback()};
  const proxy::ClientHello hellos[] = {
      {.server_name = "example.test", .alpn = {}, .offers_tls12 = true, .offers_tls13 = true},
      {.server_name = "a.example.test", .alpn = {}, .offers_tls12 = false, .offers_tls13 = true},
      {.server_name = "", .alpn = {}, .offers_tls12 = true, .offers_tls13 = false},
  };
  std::size_t checked = 0;
  for (const std::uint16_t port : ports) {
    if (++checked > 64) break;
    for (const auto& client : clients) {
      const auto decision = table->at_accept(port, client);
      if (decision.route && (decision.read_hello || decision.route->needs_hello)) std::abort();
      const proxy::Route* plain = table->after_hello(port, client, nullptr);
      if (decision.route && plain != decision.route) std::abort();
      if (plain && plain->needs_hello) std::abort();
      for (const auto& hello : hellos) {
        const proxy::Route* r = table->after_hello(port, client, &hello);
        if (r && (!r->config.enabled || !r->config.match.ports.contains(port) || !r->admits_client(client)))
          std::abort();
        if (r) (void)r->allows_ip(client);
      }
    }
  }
  for (const auto& route : table->routes()) {
    if (table->find(route.id) != &route) std::abort();
  }
  return 0;
}
