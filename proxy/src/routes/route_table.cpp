// RouteTable (route_table.hpp): compiles decoded routes and matches
// connections against them.
#include "routes/route_table.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "basalt/core/config.hpp"
#include "basalt/http/message.hpp"
#include "l4/client_hello.hpp"

namespace basalt::proxy {

namespace {

constexpr std::uint8_t kTls12Bit = 1;
constexpr std::uint8_t kTls13Bit = 2;

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// The route's security with every absent field taken from the defaults.
// Lists count as absent when empty.
RouteSecurity effective_security(const std::optional<RouteSecurity>& own,
                                 const std::optional<RouteSecurity>& defaults) {
  RouteSecurity s = own.value_or(RouteSecurity{});
  if (!defaults) return s;
  if (s.ip_allow_list.empty()) s.ip_allow_list = defaults->ip_allow_list;
  if (s.ip_block_list.empty()) s.ip_block_list = defaults->ip_block_list;
  if (!s.max_connections) s.max_connections = defaults->max_connections;
  if (!s.max_connections_per_ip) s.max_connections_per_ip = defaults->max_connections_per_ip;
  if (!s.connection_rate_limit_per_minute) {
    s.connection_rate_limit_per_minute = defaults->connection_rate_limit_per_minute;
  }
  return s;
}

IpPatternList compile_patterns(const std::vector<std::string>& patterns, const std::string& path) {
  std::string error;
  std::size_t bad = 0;
  auto list = IpPatternList::compile(patterns, &error, &bad);
  if (!list)
    throw core::config::Error(fmt::format("{}[{}]", path, bad),
                              fmt::format("\"{}\" {}", patterns[bad], error));
  return std::move(*list);
}

}  // namespace

// ---- Route -----------------------------------------------------------------------

bool Route::admits_client(const core::IpAddress& client) const noexcept {
  return client_ip_.empty() || client_ip_.matches(client);
}

bool Route::allows_ip(const core::IpAddress& client) const noexcept {
  if (block_list_.matches(client)) return false;
  return allow_list_.empty() || allow_list_.matches(client);
}

Route::DomainMatch Route::match_domain(std::string_view server_name) const noexcept {
  if (!server_name.empty() && server_name.back() == '.') server_name.remove_suffix(1);
  if (server_name.empty()) return DomainMatch::kNone;
  for (const auto& d : exact_domains_) {
    if (equals_ignoring_case(d, server_name)) return DomainMatch::kExact;
  }
  for (const auto& g : wildcard_domains_) {
    if (g.match(server_name)) return DomainMatch::kWildcard;
  }
  return DomainMatch::kNone;
}

bool Route::matches_request(std::string_view host, const http::RequestHead& request,
                            bool check_domains) const {
  if (check_domains && !config.match.domains.empty() && match_domain(host) == DomainMatch::kNone)
    return false;
  if (path_ && !path_->match(request.path)) return false;
  for (const auto& h : headers_) {
    if (!h.match(request.headers)) return false;
  }
  return true;
}

bool Route::matches_hello(const ClientHello* hello) const noexcept {
  if (!needs_hello) return !http || !hello;
  if (!hello) return false;
  if (!config.match.domains.empty() && match_domain(hello->server_name) == DomainMatch::kNone) return false;
  if (tls_versions_ != 0) {
    const std::uint8_t offered =
        (hello->offers_tls12 ? kTls12Bit : 0) | (hello->offers_tls13 ? kTls13Bit : 0);
    if ((offered & tls_versions_) == 0) return false;
  }
  return true;
}

// ---- RouteTable ------------------------------------------------------------------

std::shared_ptr<const RouteTable> RouteTable::build(std::vector<RouteConfig> routes,
                                                    const DefaultsConfig& defaults) {
  auto table = std::make_shared<RouteTable>();
  table->routes_.reserve(routes.size());
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const std::string path = fmt::format("routes[{}]", i);
    Route r;
    r.config = std::move(routes[i]);
    r.id = route_id(r.config, i);
    r.position = i;
    r.security = effective_security(r.config.security, defaults.security);
    const RouteMatch& m = r.config.match;
    r.needs_hello = r.config.action.tls.has_value() || !m.tls_version.empty();
    r.http = is_http_route(r.config);
    if (m.path) {
      std::string error;
      r.path_ = PathPattern::compile(*m.path, &error);
      if (!r.path_) throw core::config::Error(path + ".match.path", fmt::format("\"{}\" {}", *m.path, error));
    }
    for (const auto& [name, value] : m.headers) {
      std::string error;
      auto h = HeaderPattern::compile(name, value, &error);
      if (!h)
        throw core::config::Error(path + ".match.headers." + name, fmt::format("\"{}\" {}", value, error));
      r.headers_.push_back(std::move(*h));
    }
    for (std::size_t j = 0; j < m.domains.size(); ++j) {
      std::string error;
      auto glob = core::Glob::compile(m.domains[j], {.case_insensitive = true}, &error);
      if (!glob) {
        throw core::config::Error(fmt::format("{}.match.domains[{}]", path, j),
                                  fmt::format("\"{}\" {}", m.domains[j], error));
      }
      if (glob->is_literal()) {
        r.exact_domains_.push_back(m.domains[j]);
        r.exact_domain_ = true;
      } else {
        r.wildcard_domains_.push_back(std::move(*glob));
      }
    }
    r.client_ip_ = compile_patterns(m.client_ip, path + ".match.clientIp");
    r.allow_list_ = compile_patterns(r.security.ip_allow_list, path + ".security.ipAllowList");
    r.block_list_ = compile_patterns(r.security.ip_block_list, path + ".security.ipBlockList");
    for (std::size_t j = 0; j < m.tls_version.size(); ++j) {
      if (m.tls_version[j] == "TLSv1.2") {
        r.tls_versions_ |= kTls12Bit;
      } else if (m.tls_version[j] == "TLSv1.3") {
        r.tls_versions_ |= kTls13Bit;
      } else {
        throw core::config::Error(fmt::format("{}.match.tlsVersion[{}]", path, j),
                                  fmt::format("\"{}\" is not one of: TLSv1.2, TLSv1.3", m.tls_version[j]));
      }
    }
    r.specificity_ = int{!m.domains.empty()} + int{!m.client_ip.empty()} + int{!m.tls_version.empty()} +
                     int{m.path.has_value()} + int{!m.headers.empty()};
    table->routes_.push_back(std::move(r));
  }

  // Ids: names must be unique (decode_routes checks this too).
  for (std::uint32_t i = 0; i < table->routes_.size(); ++i) table->ids_.emplace_back(table->routes_[i].id, i);
  std::sort(table->ids_.begin(), table->ids_.end());
  for (std::size_t i = 1; i < table->ids_.size(); ++i) {
    if (table->ids_[i].first == table->ids_[i - 1].first) {
      const auto later = std::max(table->ids_[i].second, table->ids_[i - 1].second);
      const auto earlier = std::min(table->ids_[i].second, table->ids_[i - 1].second);
      throw core::config::Error(fmt::format("routes[{}].name", later),
                                fmt::format("\"{}\" is used by routes[{}]", table->ids_[i].first, earlier));
    }
  }

  // Every enabled TCP route (transport tcp or all), best first. Kernel-forwarded
  // routes (forwardingEngine: nftables) are never matched nor listened for here.
  std::vector<std::uint32_t> order;
  for (std::uint32_t i = 0; i < table->routes_.size(); ++i) {
    const auto& r = table->routes_[i];
    if (r.config.action.nftables) continue;
    if (r.config.enabled && r.config.match.transport != Transport::kUdp) order.push_back(i);
  }
  const auto& all = table->routes_;
  std::stable_sort(order.begin(), order.end(), [&all](std::uint32_t a, std::uint32_t b) {
    const Route& x = all[a];
    const Route& y = all[b];
    if (x.config.priority != y.config.priority) return x.config.priority > y.config.priority;
    if (x.specificity_ != y.specificity_) return x.specificity_ > y.specificity_;
    if (x.exact_domain_ != y.exact_domain_) return x.exact_domain_;
    const std::size_t xp = x.path_ ? x.path_->literal_length() : 0;
    const std::size_t yp = y.path_ ? y.path_->literal_length() : 0;
    if (xp != yp) return xp > yp;
    return x.position < y.position;
  });

  // Slices of the port space with the same candidates.
  std::vector<std::uint32_t> cuts{0};
  for (auto i : order) {
    for (const auto& range : all[i].config.match.ports.ranges) {
      cuts.push_back(range.from);
      cuts.push_back(std::uint32_t{range.to} + 1);
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (std::size_t c = 0; c < cuts.size(); ++c) {
    if (cuts[c] > 65535) break;
    const std::uint32_t first = cuts[c];
    std::vector<std::uint32_t> candidates;
    for (auto i : order) {
      if (all[i].config.match.ports.contains(static_cast<std::uint16_t>(first))) candidates.push_back(i);
    }
    if (!candidates.empty()) {
      const std::uint32_t end = c + 1 < cuts.size() ? std::min<std::uint32_t>(cuts[c + 1], 65536) : 65536;
      for (std::uint32_t p = first; p < end; ++p) table->ports_.push_back(static_cast<std::uint16_t>(p));
    }
    if (!table->slice_candidates_.empty() && table->slice_candidates_.back() == candidates) continue;
    table->slice_starts_.push_back(first);
    table->slice_candidates_.push_back(std::move(candidates));
  }
  return table;
}

const std::vector<std::uint16_t>& RouteTable::ports() const noexcept {
  return ports_;
}

const std::vector<Route>& RouteTable::routes() const noexcept {
  return routes_;
}

const Route* RouteTable::find(std::string_view id) const noexcept {
  auto it = std::lower_bound(
      ids_.begin(), ids_.end(), id,
      [](const std::pair<std::string, std::uint32_t>& e, std::string_view key) { return e.first < key; });
  if (it == ids_.end() || it->first != id) return nullptr;
  return &routes_[it->second];
}

std::span<const std::uint32_t> RouteTable::candidates(std::uint16_t port) const noexcept {
  auto it = std::upper_bound(slice_starts_.begin(), slice_starts_.end(), std::uint32_t{port});
  if (it == slice_starts_.begin()) return {};
  return slice_candidates_[static_cast<std::size_t>(it - slice_starts_.begin()) - 1];
}

RouteTable::AcceptDecision RouteTable::at_accept(std::uint16_t port, const core::IpAddress& client) const {
  for (auto i : candidates(port)) {
    const Route& r = routes_[i];
    if (!r.admits_client(client)) continue;
    if (r.needs_hello || r.http) return {nullptr, true};
    return {&r, false};
  }
  return {nullptr, false};
}

const Route* RouteTable::after_hello(std::uint16_t port, const core::IpAddress& client,
                                     const ClientHello* hello) const {
  const auto list = candidates(port);
  for (std::size_t k = 0; k < list.size(); ++k) {
    const Route& r = routes_[list[k]];
    if (!r.admits_client(client) || !r.matches_hello(hello)) continue;
    if (hello && r.match_domain(hello->server_name) == Route::DomainMatch::kWildcard) {
      for (std::size_t n = k + 1; n < list.size(); ++n) {
        const Route& s = routes_[list[n]];
        if (s.config.priority != r.config.priority || s.specificity_ != r.specificity_) break;
        if (s.admits_client(client) && s.matches_hello(hello) &&
            s.match_domain(hello->server_name) == Route::DomainMatch::kExact) {
          return &s;
        }
      }
    }
    return &r;
  }
  return nullptr;
}

namespace {
// The host of a Host / :authority value: without the port ("[::1]:8080" ->
// "::1", "a.test:80" -> "a.test") and without a trailing dot.
std::string_view host_of(std::string_view authority) noexcept {
  if (authority.starts_with('[')) {
    auto end = authority.find(']');
    return end == std::string_view::npos ? authority : authority.substr(1, end - 1);
  }
  if (auto colon = authority.rfind(':'); colon != std::string_view::npos && authority.find(':') == colon) {
    authority = authority.substr(0, colon);
  }
  if (!authority.empty() && authority.back() == '.') authority.remove_suffix(1);
  return authority;
}
}  // namespace

const Route* RouteTable::for_request(std::uint16_t port, const core::IpAddress& client,
                                     const http::RequestHead& request, bool terminated) const {
  const std::string_view host = host_of(request.authority);
  const auto list = candidates(port);
  auto fits = [&](const Route& r) {
    const bool terminating = r.config.action.tls && r.config.action.tls->mode != TlsMode::kPassthrough;
    if (terminating != terminated || (!terminated && r.config.action.tls)) return false;
    return r.admits_client(client) && r.matches_request(host, request);
  };
  for (std::size_t k = 0; k < list.size(); ++k) {
    const Route& r = routes_[list[k]];
    if (!fits(r)) continue;
    if (!r.config.match.domains.empty() && r.match_domain(host) == Route::DomainMatch::kWildcard) {
      for (std::size_t n = k + 1; n < list.size(); ++n) {
        const Route& s = routes_[list[n]];
        if (s.config.priority != r.config.priority || s.specificity_ != r.specificity_) break;
        if (fits(s) && s.match_domain(host) == Route::DomainMatch::kExact) return &s;
      }
    }
    return &r;
  }
  return nullptr;
}

}  // namespace basalt::proxy
