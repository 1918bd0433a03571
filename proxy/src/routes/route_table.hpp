// The compiled route table: what a connection is matched against, published
// as one immutable snapshot (core::Snapshot) so workers read it without locks
// and `updateRoutes` swaps it atomically.
//
// Matching (docs/proxy.md). The candidates for a connection to `port` from
// `client` are the enabled routes whose match.ports contain the port and
// whose match.clientIp (if any) admits the client, in this order:
//   1. priority, higher first;
//   2. specificity, higher first: one point each for domains, clientIp and
//      tlsVersion; at equal points a route with an exact (non-wildcard)
//      domain comes before one with wildcard domains only (and before one
//      without domains);
//   3. position in the list, earlier first.
// A route "needs the hello" when it has action.tls (any mode) or
// tlsVersion: only the ClientHello can decide it. An HTTP route
// (is_http_route) without action.tls needs the first bytes too (they must
// not be TLS). A connection is matched in two steps, on what is known when
// it is known:
//   at_accept(port, client): the first candidate wins if it is a TCP route
//     that needs no hello; else the answer is "read the first bytes"
//     (read_hello); no candidate: nothing matches.
//   after_hello(port, client, hello): the first candidate that matches the
//     hello wins. A TCP route that needs no hello always matches (even when
//     the bytes were TLS); a plain HTTP route matches only bytes that are
//     not TLS (the connection is then served as HTTP, each request matched
//     by for_request()). A route that needs one matches only a real hello
//     (null: not TLS, or nothing came): its domains, if any, must match the
//     SNI (an empty SNI matches no route with domains; a TLS route without
//     domains matches any hello), and its tlsVersion, if any, must name a
//     version the client offers. When the winner matched the SNI by a
//     wildcard, a route of the same priority and specificity that names the
//     SNI exactly wins over it (`a.example.test` before `*.example.test`).
// for_request(port, client, request, terminated): on an HTTP connection,
//   each request is matched on its own among the candidates of the same
//   kind (plain routes on a plain connection, terminating routes after TLS
//   termination): domains against the Host (port and trailing dot ignored),
//   then match.path, then match.headers; a longer path pattern wins at equal
//   priority and specificity; exact domains before wildcards as above.
// Specificity counts domains, clientIp, tlsVersion, path and headers.
// security (ipAllowList / ipBlockList) is not part of matching: the caller
// asks the chosen route's allows_ip() and refuses the connection (or, for
// a request, answers 403).
//
// Thread-safety: immutable after build(); share freely.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "basalt/core/glob.hpp"
#include "basalt/core/ip.hpp"
#include "basalt/proxy/options.hpp"
#include "routes/header_pattern.hpp"
#include "routes/ip_pattern.hpp"
#include "routes/path_pattern.hpp"

namespace basalt::http {
struct RequestHead;
}

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
  // `tls` (any mode) or `tlsVersion`.
  bool needs_hello = false;
  // is_http_route(config): connections are read as HTTP (after TLS
  // termination for a terminating route).
  bool http = false;
  // Compiled matchers (implementation-defined members follow).
  bool admits_client(const core::IpAddress& client) const noexcept;  // match.clientIp
  bool matches_hello(const ClientHello* hello) const noexcept;       // domains + tlsVersion; null: not TLS
  // domains (against `host`, already without port; unless !check_domains),
  // path and headers.
  bool matches_request(std::string_view host, const http::RequestHead& request,
                       bool check_domains = true) const;
  // The effective ipBlockList and ipAllowList: false when the block list
  // matches; else true when the allow list is empty or matches.
  bool allows_ip(const core::IpAddress& client) const noexcept;

 private:
  friend class RouteTable;
  enum class DomainMatch : std::uint8_t { kNone, kWildcard, kExact };
  DomainMatch match_domain(std::string_view server_name) const noexcept;

  std::vector<std::string> exact_domains_;  // lowercase, no trailing dot
  std::vector<core::Glob> wildcard_domains_;
  IpPatternList client_ip_;
  IpPatternList allow_list_;
  IpPatternList block_list_;
  std::uint8_t tls_versions_ = 0;  // kTls12Bit | kTls13Bit; 0: any
  std::optional<PathPattern> path_;
  std::vector<HeaderPattern> headers_;
  int specificity_ = 0;        // domains + clientIp + tlsVersion + path + headers
  bool exact_domain_ = false;  // at least one domain without wildcards
};

class RouteTable {
 public:
  // Compiles decoded routes (they already passed decode's checks); disabled
  // routes are kept (for ids and metrics) but never match. `defaults`
  // fills each route's security. Throws core::config::Error naming
  // routes[i] for what only the whole table can tell (none so far).
  static std::shared_ptr<const RouteTable> build(std::vector<RouteConfig> routes,
                                                 const DefaultsConfig& defaults = {});

  // Every port an enabled TCP route (transport tcp or all) listens on, sorted,
  // unique (not the ports of kernel-forwarded routes: the kernel takes their
  // connections).
  const std::vector<std::uint16_t>& ports() const noexcept;
  const std::vector<Route>& routes() const noexcept;
  const Route* find(std::string_view id) const noexcept;

  struct AcceptDecision {
    const Route* route = nullptr;  // decided now (null and !read_hello: nothing matches)
    bool read_hello = false;       // read the first bytes / ClientHello, then after_hello()
  };
  // The decision at accept: the best candidate for (port, client) if it
  // needs no hello; read_hello if it needs one; nothing if there is none.
  // Never allocates or throws.
  AcceptDecision at_accept(std::uint16_t port, const core::IpAddress& client) const;
  // The route once the first bytes are known: `hello` is the parsed
  // ClientHello, or null when the bytes were not TLS (or none came before
  // initialDataTimeout). Null result: nothing matches. Never allocates or
  // throws.
  const Route* after_hello(std::uint16_t port, const core::IpAddress& client, const ClientHello* hello) const;
  // The route for one request on an HTTP connection to `port`;
  // `terminated`: the connection's TLS was ended by basalt (candidates are
  // the terminating routes), else plain routes. Null: nothing matches.
  const Route* for_request(std::uint16_t port, const core::IpAddress& client,
                           const http::RequestHead& request, bool terminated) const;

 private:
  // The candidates for `port` (indexes into routes_, best first); empty when
  // no enabled route listens there.
  std::span<const std::uint32_t> candidates(std::uint16_t port) const noexcept;

  std::vector<Route> routes_;
  std::vector<std::uint16_t> ports_;
  // The port space cut where an enabled route's range starts or ends, so
  // that every port of a slice has the same candidates: slice i is
  // [slice_starts_[i], slice_starts_[i + 1]). Memory grows with the number
  // of ranges, not with the number of ports they cover.
  std::vector<std::uint32_t> slice_starts_;
  std::vector<std::vector<std::uint32_t>> slice_candidates_;
  std::vector<std::pair<std::string, std::uint32_t>> ids_;  // sorted by id
};

}  // namespace basalt::proxy
