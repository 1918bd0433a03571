// The compiled route table: what a connection is matched against, published
// as one immutable snapshot (core::Snapshot) so workers read it without locks
// and `updateRoutes` swaps it atomically.
//
// Matching (docs/proxy.md): routes sorted by priority (higher first), then
// by specificity (a route with more of domains, clientIp, tlsVersion is more
// specific; exact domains before wildcards), then by position; the first
// that matches wins. A connection is matched in two steps, on what is known
// when it is known:
//   at_accept(port, client)       -> a route now, or "read the ClientHello first"
//   after_hello(port, client, h)  -> the route given the hello (or its absence)
// A route with `domains` matches only a connection that carries one of them
// (SNI); a route without matches every connection on its ports.
//
// Thread-safety: immutable after build(); share freely.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

struct ClientHello;

// One route, compiled. `config` is what was given; the rest is derived.
struct Route {
  RouteConfig config;
  std::string id;            // route_id(config, position)
  std::size_t position = 0;  // index in the list given to build()
  // The effective security: the route's own, else the options' defaults.
  RouteSecurity security;
  // True when the route can only be decided on the ClientHello: it has
  // `tls` (any mode), `domains` or `tlsVersion`.
  bool needs_hello = false;
  // Compiled matchers (implementation-defined members follow).
  bool admits_client(const core::IpAddress& client) const noexcept;  // match.clientIp
  bool matches_hello(const ClientHello* hello) const noexcept;       // domains + tlsVersion; null: not TLS
};

class RouteTable {
 public:
  // Compiles decoded routes (they already passed decode's checks); disabled
  // routes are kept (for ids and metrics) but never match. `defaults`
  // fills each route's security. Throws core::config::Error naming
  // routes[i] for what only the whole table can tell (none so far).
  static std::shared_ptr<const RouteTable> build(std::vector<RouteConfig> routes,
                                                 const DefaultsConfig& defaults = {});

  // Every port an enabled TCP route listens on, sorted, unique.
  const std::vector<std::uint16_t>& ports() const noexcept;
  const std::vector<Route>& routes() const noexcept;
  const Route* find(std::string_view id) const noexcept;

  struct AcceptDecision {
    const Route* route = nullptr;  // decided now (null and !read_hello: nothing matches)
    bool read_hello = false;       // read the first bytes / ClientHello, then after_hello()
  };
  // The decision at accept: walks the routes on `port` that admit `client`
  // best first; a route that needs no hello is chosen if every better one
  // needed a hello that was not read yet... (see .cpp): returns read_hello
  // when any better candidate needs the hello.
  AcceptDecision at_accept(std::uint16_t port, const core::IpAddress& client) const;
  // The route once the first bytes are known: `hello` is the parsed
  // ClientHello, or null when the bytes were not TLS (or none came before
  // initialDataTimeout). Null result: nothing matches.
  const Route* after_hello(std::uint16_t port, const core::IpAddress& client, const ClientHello* hello) const;
};

}  // namespace basalt::proxy
