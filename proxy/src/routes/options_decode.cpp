// decode_options() and decode_routes() (options.hpp): smartproxy's option and
// route objects from a config tree, checked field by field and across fields.
// Each mapping lists the keys it takes; keys of the package that basalt does
// not implement yet are named and refused, every other unknown key is the
// config machinery's "unknown key" error.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <regex>
#include <utility>

#include "basalt/core/config.hpp"
#include "basalt/core/config_ip.hpp"
#include "basalt/core/duration.hpp"
#include "basalt/core/file.hpp"
#include "basalt/core/glob.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/proxy/options.hpp"
#include "basalt/service/log_config.hpp"
#include "basalt/service/metrics_config.hpp"
#include "routes/header_pattern.hpp"
#include "routes/ip_pattern.hpp"
#include "routes/path_pattern.hpp"

namespace basalt::proxy {

namespace {

namespace json = boost::json;
using core::config::Error;
using core::config::Node;

constexpr std::size_t kMaxWorkers = 1024;
// Longer than any sensible timeout, short enough for any timer's arithmetic.
constexpr std::int64_t kMaxTimeoutMs = std::int64_t{365} * 24 * 3600 * 1000;
// A CA bundle larger than this is a mistake (the system bundle is ~200 KiB).
constexpr std::size_t kMaxCaFileSize = std::size_t{4} << 20;
// sockaddr_un::sun_path, terminator included.
constexpr std::size_t kMaxUnixSocketPath = 108;

// A key of the package that basalt knows but does not implement yet, and how
// the error names the feature: "<path>: <what> is not supported yet".
struct Unsupported {
  std::string_view key;
  std::string_view what;
};

// The keys of one mapping, checked on construction: each key is one of
// `known`, one of `unsupported` (an error unless its value is null) or an
// unknown-key error.
class Fields {
 public:
  Fields(const Node& node, std::initializer_list<std::string_view> known,
         std::initializer_list<Unsupported> unsupported = {})
      : node_(node), object_(core::config::detail::expect_object(node)) {
    for (const auto& kv : object_) {
      const std::string_view key = kv.key();
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      auto u = std::find_if(unsupported.begin(), unsupported.end(),
                            [key](const Unsupported& x) { return x.key == key; });
      if (u != unsupported.end()) {
        if (kv.value().is_null()) continue;
        throw Error(node.child_path(key), fmt::format("{} is not supported yet", u->what));
      }
      core::config::detail::fail_unknown_key(node, key, std::vector<std::string>(known.begin(), known.end()));
    }
  }

  // The value under `key`; nullopt when absent or null.
  std::optional<Node> get(std::string_view key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->value().is_null()) return std::nullopt;
    return node_.child(it->value(), key);
  }
  Node require(std::string_view key) const {
    if (auto n = get(key)) return *n;
    node_.fail_at(key, "is required");
  }
  const Node& node() const { return node_; }

 private:
  const Node& node_;
  const json::object& object_;
};

template <class T>
T decode_as(const Node& n) {
  T v{};
  core::config::decode(n, v);
  return v;
}

// The items of a value that may be one item or a list of them.
std::vector<Node> one_or_list(const Node& n) {
  std::vector<Node> items;
  if (n.value().is_array()) {
    const auto& arr = n.value().get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) items.push_back(n.element(arr[i], i));
  } else {
    items.push_back(n);
  }
  return items;
}

template <class E>
E enum_of(const Node& n, std::initializer_list<std::pair<std::string_view, E>> values) {
  if (n.value().is_string()) {
    const std::string_view s = n.value().get_string();
    for (const auto& [name, value] : values) {
      if (s == name) return value;
    }
  }
  std::string allowed;
  for (const auto& [name, value] : values) allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  n.fail("is not one of: " + allowed);
}

// Fails with "<value> is not supported yet" when the value is one of `values`.
void refuse_values(const Node& n, std::initializer_list<std::string_view> values) {
  if (!n.value().is_string()) return;
  const std::string_view s = n.value().get_string();
  if (std::find(values.begin(), values.end(), s) != values.end()) n.fail("is not supported yet");
}

// proxyProtocolVersion (ours): 1 (text) or 2 (binary).
int proxy_protocol_version_of(const Node& n) {
  std::int64_t v = 0;
  std::uint64_t u = 0;
  if (!core::config::detail::integer_in_range(n.value(), 1, 2, v, u))
    n.fail("is not a PROXY protocol version (1: text, 2: binary)");
  return static_cast<int>(v);
}

std::uint16_t port_of(const Node& n) {
  std::int64_t s = 0;
  std::uint64_t u = 0;
  if (!core::config::detail::integer_in_range(n.value(), 1, 65535, s, u)) n.fail("is not a port (1-65535)");
  return static_cast<std::uint16_t>(u);
}

std::uint32_t positive_count(const Node& n) {
  std::int64_t s = 0;
  std::uint64_t u = 0;
  constexpr auto kMax = std::numeric_limits<std::uint32_t>::max();
  if (!core::config::detail::integer_in_range(n.value(), 1, kMax, s, u)) {
    n.fail(fmt::format("is not an integer between 1 and {}", kMax));
  }
  return static_cast<std::uint32_t>(u);
}

// Milliseconds as a number (the package's unit) or a duration string.
std::chrono::milliseconds timeout_of(const Node& n) {
  std::optional<std::chrono::milliseconds> d;
  std::int64_t s = 0;
  std::uint64_t u = 0;
  if (n.value().is_string()) {
    d = core::parse_duration(n.value().get_string());
  } else if (core::config::detail::integer_in_range(n.value(), 0, static_cast<long double>(kMaxTimeoutMs), s,
                                                    u)) {
    d = std::chrono::milliseconds(s);
  }
  if (!d || d->count() <= 0 || d->count() > kMaxTimeoutMs) {
    n.fail(fmt::format("is not a timeout: milliseconds from 1 to {} (365 days), or {}", kMaxTimeoutMs,
                       core::kDurationHelp));
  }
  return *d;
}

bool is_pem_text(std::string_view s) {
  return s.find("-----BEGIN") != std::string_view::npos;
}

// A certificate, key or CA given as a path: relative to `base_dir`.
std::string resolve_path(const std::string& given, std::string_view base_dir) {
  if (given.empty() || is_pem_text(given) || base_dir.empty()) return given;
  std::filesystem::path p(given);
  if (p.is_absolute()) return given;
  return (std::filesystem::path(base_dir) / p).string();
}

// A DNS host name (letters, digits, '-', '_'; labels of 1-63 characters) or
// an IP address.
bool is_host(std::string_view s) {
  if (core::IpAddress::parse(s)) return true;
  if (s.empty() || s.size() > 253) return false;
  if (s.back() == '.') s.remove_suffix(1);
  std::size_t label = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-') return false;
      label = 0;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (!std::isalnum(c) && c != '-' && c != '_') return false;
    ++label;
  }
  return true;
}

// ---- match ---------------------------------------------------------------------

PortSet decode_ports(const Node& n) {
  PortSet set;
  if (n.value().is_array() && n.value().get_array().empty()) throw Error(n.path(), "needs at least one port");
  for (const Node& item : one_or_list(n)) {
    if (item.value().is_object()) {
      Fields f(item, {"from", "to"});
      const auto from = port_of(f.require("from"));
      const auto to = port_of(f.require("to"));
      if (from > to) throw Error(item.path(), fmt::format("from {} is greater than to {}", from, to));
      set.ranges.push_back({from, to});
    } else {
      const auto port = port_of(item);
      set.ranges.push_back({port, port});
    }
  }
  return set;
}

std::vector<std::string> decode_domains(const Node& n) {
  if (!n.value().is_string() && !n.value().is_array()) n.fail("is not a domain or a list of domains");
  if (n.value().is_array() && n.value().get_array().empty()) {
    throw Error(n.path(), "needs at least one domain (leave domains out to match every domain)");
  }
  std::vector<std::string> domains;
  for (const Node& item : one_or_list(n)) {
    std::string d = decode_as<std::string>(item);
    std::transform(d.begin(), d.end(), d.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!d.empty() && d.back() == '.') d.pop_back();
    if (d.empty() || d.find_first_of(" \t\r\n/") != std::string::npos)
      item.fail("is not a domain or a domain glob");
    std::string error;
    if (!core::Glob::compile(d, {.case_insensitive = true}, &error)) item.fail(error);
    domains.push_back(std::move(d));
  }
  return domains;
}

// clientIp, ipAllowList, ipBlockList: checked by compiling them.
std::vector<std::string> decode_ip_patterns(const Node& n) {
  auto patterns = decode_as<std::vector<std::string>>(n);
  std::string error;
  std::size_t bad = 0;
  if (!IpPatternList::compile(patterns, &error, &bad)) {
    n.element(n.value().get_array()[bad], bad).fail(error);
  }
  return patterns;
}

std::vector<std::string> decode_tls_version_names(const Node& n) {
  const auto& arr = core::config::detail::expect_array(n);
  if (arr.empty()) throw Error(n.path(), "needs at least one of: TLSv1.2, TLSv1.3");
  std::vector<std::string> names;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const Node item = n.element(arr[i], i);
    enum_of<int>(item, {{"TLSv1.2", 0}, {"TLSv1.3", 1}});
    names.emplace_back(arr[i].get_string());
  }
  return names;
}

std::string decode_path_pattern(const Node& n) {
  auto p = decode_as<std::string>(n);
  std::string error;
  if (!PathPattern::compile(p, &error)) n.fail(error);
  return p;
}

std::map<std::string, std::string> decode_header_patterns(const Node& n) {
  const auto& obj = core::config::detail::expect_object(n);
  if (obj.empty())
    throw Error(n.path(), "needs at least one header (leave headers out to match every request)");
  std::map<std::string, std::string> headers;
  for (const auto& kv : obj) {
    const Node item = n.child(kv.value(), kv.key());
    std::string name(kv.key());
    std::string error;
    if (!HeaderPattern::valid_name(name)) item.fail("is not a header field name (RFC 9110 token characters)");
    auto value = decode_as<std::string>(item);
    if (!HeaderPattern::compile(name, value, &error)) item.fail(error);
    headers.emplace(std::move(name), std::move(value));
  }
  return headers;
}

RouteMatch decode_match(const Node& n) {
  Fields f(n, {"ports", "transport", "protocol", "domains", "clientIp", "tlsVersion", "path", "headers"});
  RouteMatch m;
  m.ports = decode_ports(f.require("ports"));
  if (auto t = f.get("transport")) {
    m.transport = enum_of<Transport>(
        *t, {{"tcp", Transport::kTcp}, {"udp", Transport::kUdp}, {"all", Transport::kAll}});
  }
  if (auto p = f.get("protocol")) {
    refuse_values(*p, {"quic"});
    m.protocol = enum_of<AppProtocol>(
        *p, {{"http", AppProtocol::kHttp}, {"tcp", AppProtocol::kTcp}, {"quic", AppProtocol::kQuic}});
  }
  if (auto d = f.get("domains")) m.domains = decode_domains(*d);
  if (auto c = f.get("clientIp")) {
    m.client_ip = decode_ip_patterns(*c);
    if (m.client_ip.empty())
      throw Error(c->path(), "needs at least one pattern (leave clientIp out to admit every client)");
  }
  if (auto v = f.get("tlsVersion")) m.tls_version = decode_tls_version_names(*v);
  if (auto v = f.get("path")) m.path = decode_path_pattern(*v);
  if (auto v = f.get("headers")) m.headers = decode_header_patterns(*v);
  return m;
}

// ---- action --------------------------------------------------------------------

Target decode_target(const Node& n) {
  Fields f(n, {"host", "port", "weight"}, {{"match", "choosing a target by a sub-match"}});
  Target t;
  const Node host = f.require("host");
  if (!host.value().is_string() && !host.value().is_array()) host.fail("is not a host or a list of hosts");
  if (host.value().is_array() && host.value().get_array().empty())
    throw Error(host.path(), "needs at least one host");
  for (const Node& item : one_or_list(host)) {
    auto h = decode_as<std::string>(item);
    if (!is_host(h)) item.fail("is not an IP address or a host name");
    t.host.push_back(std::move(h));
  }
  const Node port = f.require("port");
  if (port.value().is_string()) {
    if (port.value().get_string() != "preserve") port.fail("is not a port (1-65535) or \"preserve\"");
    t.preserve_port = true;
  } else {
    t.port = port_of(port);
  }
  if (auto w = f.get("weight")) {
    std::int64_t s = 0;
    std::uint64_t u = 0;
    if (!core::config::detail::integer_in_range(w->value(), 1, 1000, s, u))
      w->fail("is not a weight (1-1000)");
    t.weight = static_cast<std::uint32_t>(u);
  }
  return t;
}

service::TlsConfig decode_certificate(const Node& n, std::string_view base_dir) {
  if (!n.value().is_object()) n.fail("is not {cert, key} (PEM text or file paths) or \"auto\"");
  auto tls = decode_as<service::TlsConfig>(n);
  tls.cert = resolve_path(tls.cert, base_dir);
  tls.key = resolve_path(tls.key, base_dir);
  std::string reason;
  if (!core::TlsCertifiedKey::load(tls.source(), &reason)) throw Error(n.path(), reason);
  return tls;
}

bool openssl_accepts_ciphers(const std::string& ciphers) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) return true;  // cannot check here; the listener will report it
  const bool ok = SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) == 1;
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

BackendTls decode_backend_tls(const Node& n, std::string_view base_dir) {
  Fields f(n, {"verify", "ca", "serverName"});
  BackendTls b;
  if (auto v = f.get("verify")) b.verify = decode_as<bool>(*v);
  if (auto ca = f.get("ca")) {
    b.ca = resolve_path(decode_as<std::string>(*ca), base_dir);
    if (b.ca.empty()) ca->fail("is not a PEM file or PEM text");
    std::string reason;
    if (!is_pem_text(b.ca) && !core::read_regular_file(b.ca, kMaxCaFileSize, &reason)) {
      throw Error(ca->path(), fmt::format("cannot read \"{}\": {}", b.ca, reason));
    }
  }
  if (auto s = f.get("serverName")) {
    b.server_name = decode_as<std::string>(*s);
    if (!is_host(b.server_name)) s->fail("is not a host name or an IP address");
  }
  return b;
}

RouteTls decode_tls(const Node& n, std::string_view base_dir) {
  Fields f(n, {"mode", "certificate", "versions", "ciphers", "backend"});
  RouteTls tls;
  tls.mode =
      enum_of<TlsMode>(f.require("mode"), {{"passthrough", TlsMode::kPassthrough},
                                           {"terminate", TlsMode::kTerminate},
                                           {"terminate-and-reencrypt", TlsMode::kTerminateAndReencrypt}});
  const bool passthrough = tls.mode == TlsMode::kPassthrough;
  if (auto c = f.get("certificate")) {
    if (passthrough) throw Error(c->path(), "a passthrough route takes no certificate (it does not end TLS)");
    if (c->value().is_string() && c->value().get_string() == "auto") {
      tls.auto_certificate = true;
    } else {
      tls.certificate = decode_certificate(*c, base_dir);
    }
  } else if (!passthrough) {
    n.fail_at("certificate",
              fmt::format("is required for mode {} ({{cert, key}}: PEM text or file paths)",
                          tls.mode == TlsMode::kTerminate ? "terminate" : "terminate-and-reencrypt"));
  }
  if (auto v = f.get("versions")) {
    if (passthrough) throw Error(v->path(), "applies only where basalt ends TLS (not to passthrough)");
    const auto& arr = core::config::detail::expect_array(*v);
    if (arr.empty()) throw Error(v->path(), "needs at least one of: TLSv1.2, TLSv1.3");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      auto version = enum_of<TlsProtocolVersion>(
          v->element(arr[i], i),
          {{"TLSv1.2", TlsProtocolVersion::kTls12}, {"TLSv1.3", TlsProtocolVersion::kTls13}});
      if (std::find(tls.versions.begin(), tls.versions.end(), version) == tls.versions.end()) {
        tls.versions.push_back(version);
      }
    }
  }
  if (auto c = f.get("ciphers")) {
    if (passthrough) throw Error(c->path(), "applies only where basalt ends TLS (not to passthrough)");
    tls.ciphers = decode_as<std::string>(*c);
    if (tls.ciphers.find('\0') != std::string::npos ||
        (!tls.ciphers.empty() && !openssl_accepts_ciphers(tls.ciphers))) {
      c->fail("is not a cipher list OpenSSL accepts (TLS 1.2 cipher names, e.g. ECDHE+AESGCM:!aNULL)");
    }
  }
  if (auto b = f.get("backend")) {
    if (tls.mode != TlsMode::kTerminateAndReencrypt) {
      throw Error(b->path(), "applies only to mode terminate-and-reencrypt");
    }
    tls.backend = decode_backend_tls(*b, base_dir);
  }
  return tls;
}

int http_status_of(const Node& n, int low, int high) {
  std::int64_t s = 0;
  std::uint64_t u = 0;
  if (!core::config::detail::integer_in_range(n.value(), low, high, s, u)) {
    n.fail(fmt::format("is not an HTTP status from {} to {}", low, high));
  }
  return static_cast<int>(s);
}

// `headers: {request: {...}, response: {...}}` and httpStatic's headers:
// name -> value (a template), or null to remove the field.
HeaderEdits decode_header_edits(const Node& n) {
  const auto& obj = core::config::detail::expect_object(n);
  HeaderEdits edits;
  for (const auto& kv : obj) {
    const Node item = n.child(kv.value(), kv.key());
    if (!HeaderPattern::valid_name(kv.key()))
      item.fail("is not a header field name (RFC 9110 token characters)");
    if (kv.value().is_null()) {
      edits.emplace_back(std::string(kv.key()), std::nullopt);
      continue;
    }
    auto value = decode_as<std::string>(item);
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      item.fail("holds a line break or NUL, which no header value may");
    }
    edits.emplace_back(std::string(kv.key()), std::move(value));
  }
  return edits;
}

SocketHandler decode_socket_handler(const Node& n) {
  core::config::detail::expect_object(n);
  // The type first: the http* handlers take keys of their own.
  SocketHandler h;
  {
    auto it = n.value().get_object().find("type");
    if (it == n.value().get_object().end() || it->value().is_null()) n.fail_at("type", "is required");
    h.type = enum_of<SocketHandlerType>(n.child(it->value(), "type"),
                                        {{"block", SocketHandlerType::kBlock},
                                         {"echo", SocketHandlerType::kEcho},
                                         {"httpRedirect", SocketHandlerType::kHttpRedirect},
                                         {"httpBlock", SocketHandlerType::kHttpBlock},
                                         {"httpStatic", SocketHandlerType::kHttpStatic}});
  }
  switch (h.type) {
    case SocketHandlerType::kBlock:
    case SocketHandlerType::kEcho:
      Fields(n, {"type"});
      break;
    case SocketHandlerType::kHttpRedirect: {
      Fields f(n, {"type", "location", "status"});
      h.location = decode_as<std::string>(f.require("location"));
      if (h.location.empty() || h.location.find_first_of("\r\n") != std::string::npos) {
        n.fail_at("location", "is not a URL (a template such as \"https://{domain}{path}\")");
      }
      h.status = 301;
      if (auto s = f.get("status")) h.status = http_status_of(*s, 300, 399);
      break;
    }
    case SocketHandlerType::kHttpBlock: {
      Fields f(n, {"type", "status", "body"});
      h.status = 403;
      if (auto s = f.get("status")) h.status = http_status_of(*s, 400, 599);
      if (auto b = f.get("body")) h.body = decode_as<std::string>(*b);
      break;
    }
    case SocketHandlerType::kHttpStatic: {
      Fields f(n, {"type", "status", "headers", "body"});
      h.status = 200;
      if (auto s = f.get("status")) h.status = http_status_of(*s, 200, 599);
      if (auto v = f.get("headers")) h.headers = decode_header_edits(*v);
      if (auto b = f.get("body")) h.body = decode_as<std::string>(*b);
      break;
    }
  }
  return h;
}

HealthCheck decode_health_check(const Node& n) {
  Fields f(n, {"path", "interval", "timeout", "unhealthyThreshold", "healthyThreshold"});
  HealthCheck h;
  if (auto v = f.get("path")) {
    h.path = decode_as<std::string>(*v);
    if (!h.path.starts_with('/') || h.path.find_first_of(" \t\r\n") != std::string::npos) {
      v->fail("is not a request path (starting with '/', without spaces)");
    }
  }
  if (auto v = f.get("interval")) h.interval = timeout_of(*v);
  if (auto v = f.get("timeout")) h.timeout = timeout_of(*v);
  if (auto v = f.get("unhealthyThreshold")) h.unhealthy_threshold = positive_count(*v);
  if (auto v = f.get("healthyThreshold")) h.healthy_threshold = positive_count(*v);
  if (h.timeout > h.interval) {
    n.fail_at("timeout", fmt::format("{} ms is longer than the interval ({} ms)", h.timeout.count(),
                                     h.interval.count()));
  }
  return h;
}

PassiveHealth decode_passive_health(const Node& n) {
  Fields f(n, {"consecutiveFailures", "baseEjectionTime", "maxEjectionTime"});
  PassiveHealth p;
  if (auto v = f.get("consecutiveFailures")) p.consecutive_failures = decode_as<std::uint32_t>(*v);
  if (auto v = f.get("baseEjectionTime")) p.base_ejection_time = timeout_of(*v);
  if (auto v = f.get("maxEjectionTime")) p.max_ejection_time = timeout_of(*v);
  if (p.max_ejection_time < p.base_ejection_time) {
    n.fail_at("maxEjectionTime", "is shorter than baseEjectionTime");
  }
  return p;
}

LoadBalancing decode_load_balancing(const Node& n) {
  Fields f(n, {"algorithm", "healthCheck", "passiveHealthCheck", "maxPendingRequests"});
  LoadBalancing lb;
  if (auto v = f.get("algorithm")) {
    lb.algorithm = enum_of<BalanceAlgorithm>(*v, {{"round-robin", BalanceAlgorithm::kRoundRobin},
                                                  {"least-connections", BalanceAlgorithm::kLeastConnections},
                                                  {"ip-hash", BalanceAlgorithm::kIpHash}});
  }
  if (auto v = f.get("healthCheck")) lb.health_check = decode_health_check(*v);
  if (auto v = f.get("passiveHealthCheck")) lb.passive = decode_passive_health(*v);
  if (auto v = f.get("maxPendingRequests")) lb.max_pending_requests = positive_count(*v);
  return lb;
}

WebSocketOptions decode_websocket(const Node& n) {
  Fields f(n, {"enabled", "pingInterval", "pingTimeout"}, {{"maxPayloadSize", "a WebSocket payload limit"}});
  WebSocketOptions w;
  if (auto v = f.get("enabled")) w.enabled = decode_as<bool>(*v);
  if (auto v = f.get("pingInterval")) w.ping_interval = timeout_of(*v);
  if (auto v = f.get("pingTimeout")) w.ping_timeout = timeout_of(*v);
  return w;
}

UrlRewrite decode_url_rewrite(const Node& n) {
  Fields f(n, {"pattern", "target", "onlyRewritePath"}, {{"flags", "regex flags"}});
  UrlRewrite r;
  r.pattern = decode_as<std::string>(f.require("pattern"));
  std::string error;
  try {
    std::regex compiled(r.pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    n.fail_at("pattern", fmt::format("is not a regular expression (ECMAScript): {}", e.what()));
  }
  r.target = decode_as<std::string>(f.require("target"));
  if (auto v = f.get("onlyRewritePath")) r.only_rewrite_path = decode_as<bool>(*v);
  return r;
}

UdpOptions decode_udp(const Node& n) {
  Fields f(n, {"sessionTimeout", "maxSessionsPerIP", "maxDatagramSize"});
  UdpOptions u;
  if (auto v = f.get("sessionTimeout")) u.session_timeout = timeout_of(*v);
  if (auto v = f.get("maxSessionsPerIP")) u.max_sessions_per_ip = positive_count(*v);
  if (auto v = f.get("maxDatagramSize")) {
    std::int64_t s = 0;
    std::uint64_t size = 0;
    if (!core::config::detail::integer_in_range(v->value(), 1, 65535, s, size))
      v->fail("is not a datagram size in bytes (1-65535)");
    u.max_datagram_size = static_cast<std::uint32_t>(size);
  }
  return u;
}

// An nftables set element: an address or a CIDR (no globs).
std::vector<std::string> decode_kernel_ip_list(const Node& n) {
  auto list = decode_as<std::vector<std::string>>(n);
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!core::Cidr::parse(list[i])) {
      n.element(n.value().get_array()[i], i)
          .fail("is not an IP address or a CIDR (kernel forwarding takes no globs or ranges)");
    }
  }
  return list;
}

// `action.nftables`: the package's NfTableProxyOptions (docs/proxy.md,
// "Kernel forwarding (nftables)").
NftablesOptions decode_nftables(const Node& n) {
  Fields f(
      n,
      {"fromPort", "toPort", "toHost", "protocol", "preserveSourceIP", "deleteOnExit", "enableLogging",
       "ipv6Support", "logFormat", "ipAllowList", "ipBlockList", "useIPSets", "forceCleanSlate", "tableName",
       "useAdvancedNAT", "qos"},
      {{"maxRetries", "retrying a rule update (an update is one transaction, applied whole or refused)"},
       {"retryDelayMs", "retrying a rule update (an update is one transaction, applied whole or refused)"}});
  NftablesOptions o;
  if (auto v = f.get("fromPort"))
    v->fail("is not taken here: the route's match.ports are the ports it forwards");
  if (auto v = f.get("toHost")) {
    o.to_host = decode_as<std::string>(*v);
    if (!core::IpAddress::parse(o.to_host))
      v->fail("is not an IP address (the kernel does not resolve names)");
  }
  if (auto v = f.get("toPort")) o.to_port = decode_ports(*v).ranges;
  if (auto v = f.get("protocol")) {
    o.protocol = enum_of<Transport>(
        *v, {{"tcp", Transport::kTcp}, {"udp", Transport::kUdp}, {"all", Transport::kAll}});
  }
  if (auto v = f.get("preserveSourceIP")) o.preserve_source_ip = decode_as<bool>(*v);
  if (auto v = f.get("deleteOnExit")) {
    if (!decode_as<bool>(*v))
      v->fail("is not supported: basalt-proxy always removes its tables when it stops");
  }
  if (auto v = f.get("enableLogging")) o.enable_logging = decode_as<bool>(*v);
  if (auto v = f.get("ipv6Support")) o.ipv6_support = decode_as<bool>(*v);
  if (auto v = f.get("logFormat")) {
    refuse_values(*v, {"json"});
    enum_of<int>(*v, {{"plain", 0}, {"json", 1}});
  }
  if (auto v = f.get("ipAllowList")) o.ip_allow_list = decode_kernel_ip_list(*v);
  if (auto v = f.get("ipBlockList")) o.ip_block_list = decode_kernel_ip_list(*v);
  // Always true here: the lists are named sets, NAT is conntrack's, and the
  // proxy's own tables are replaced whole at start. Checked, no effect.
  for (std::string_view key : {"useIPSets", "forceCleanSlate", "useAdvancedNAT"}) {
    if (auto v = f.get(key)) decode_as<bool>(*v);
  }
  if (auto v = f.get("tableName")) {
    o.table_name = decode_as<std::string>(*v);
    const bool ok = !o.table_name.empty() && o.table_name.size() <= 64 &&
                    std::isalpha(static_cast<unsigned char>(o.table_name[0])) &&
                    std::all_of(o.table_name.begin(), o.table_name.end(),
                                [](unsigned char c) { return std::isalnum(c) || c == '_'; });
    if (!ok) v->fail("is not a table name: a letter, then letters, digits or '_' (at most 64)");
  }
  if (auto v = f.get("qos")) {
    Fields q(*v, {"enabled", "maxRate", "priority", "markConnections"});
    if (auto e = q.get("enabled"); e && decode_as<bool>(*e)) e->fail("is not supported yet");
  }
  return o;
}

// A kernel-forwarded action: one destination address, no part of the proxy's
// own connection handling.
void check_kernel_action(RouteAction& a, const Fields& f, const Node& n) {
  for (std::string_view key : {"tls", "socketHandler", "loadBalancing", "websocket", "options", "advanced"}) {
    if (auto v = f.get(key)) {
      throw Error(v->path(),
                  "does not apply with forwardingEngine: nftables (the kernel forwards the packets; the "
                  "proxy never sees the connection)");
    }
  }
  if (a.type != ActionType::kForward) n.fail_at("type", "must be forward with forwardingEngine: nftables");
  auto& k = *a.nftables;
  if (!k.to_host.empty()) {
    if (!a.targets.empty()) n.fail_at("targets", "give nftables.toHost or targets, not both");
    return;
  }
  if (a.targets.size() != 1 || a.targets[0].host.size() != 1) {
    n.fail_at("targets",
              "a kernel-forwarded route has one destination: one target with one host (or nftables.toHost)");
  }
  const auto& t = a.targets[0];
  if (!core::IpAddress::parse(t.host[0])) {
    n.fail_at("targets",
              fmt::format("\"{}\" is not an IP address (the kernel does not resolve names)", t.host[0]));
  }
  k.to_host = t.host[0];
  if (k.to_port.empty() && !t.preserve_port) k.to_port.push_back({t.port, t.port});
  a.targets.clear();
}

RouteAction decode_action(const Node& n, std::string_view base_dir) {
  Fields f(n,
           {"type", "targets", "tls", "socketHandler", "forwardingEngine", "sendProxyProtocol",
            "proxyProtocolVersion", "loadBalancing", "websocket", "options", "advanced", "udp", "nftables"});
  RouteAction a;
  a.type = enum_of<ActionType>(
      f.require("type"), {{"forward", ActionType::kForward}, {"socket-handler", ActionType::kSocketHandler}});
  if (auto e = f.get("forwardingEngine")) {
    // node: basalt's own relay, what it does anyway
    if (enum_of<int>(*e, {{"node", 0}, {"nftables", 1}}) == 1) a.nftables.emplace();
  }
  if (auto v = f.get("nftables")) {
    if (!a.nftables) throw Error(v->path(), "applies only with forwardingEngine: nftables");
    a.nftables = decode_nftables(*v);
  }
  if (auto s = f.get("sendProxyProtocol")) a.send_proxy_protocol = decode_as<bool>(*s);
  if (auto v = f.get("proxyProtocolVersion")) a.proxy_protocol_version = proxy_protocol_version_of(*v);
  const auto targets = f.get("targets");
  if (targets) {
    const auto& arr = core::config::detail::expect_array(*targets);
    for (std::size_t i = 0; i < arr.size(); ++i)
      a.targets.push_back(decode_target(targets->element(arr[i], i)));
  }
  if (auto t = f.get("tls")) a.tls = decode_tls(*t, base_dir);
  const auto handler = f.get("socketHandler");
  if (handler) a.socket_handler = decode_socket_handler(*handler);
  if (auto v = f.get("loadBalancing")) {
    if (a.type != ActionType::kForward) throw Error(v->path(), "applies only to forward routes");
    a.load_balancing = decode_load_balancing(*v);
  }
  if (auto v = f.get("websocket")) a.websocket = decode_websocket(*v);
  if (auto v = f.get("udp")) a.udp = decode_udp(*v);
  if (auto v = f.get("options")) {
    Fields o(*v, {"backendProtocol"});
    if (auto b = o.get("backendProtocol")) {
      refuse_values(*b, {"http3"});
      a.backend_protocol = enum_of<BackendProtocol>(*b, {{"auto", BackendProtocol::kAuto},
                                                         {"http1", BackendProtocol::kHttp1},
                                                         {"http2", BackendProtocol::kHttp2},
                                                         {"http3", BackendProtocol::kAuto}});
    }
  }
  if (auto v = f.get("advanced")) {
    Fields adv(*v, {"urlRewrite"},
               {{"headers", "advanced.headers (use the route's headers)"},
                {"keepAlive", "advanced.keepAlive"},
                {"staticFiles", "serving static files"},
                {"timeout", "advanced.timeout"}});
    if (auto r = adv.get("urlRewrite")) a.url_rewrite = decode_url_rewrite(*r);
  }

  if (a.nftables) {
    check_kernel_action(a, f, n);
    return a;
  }
  if (a.type == ActionType::kForward) {
    if (a.targets.empty()) n.fail_at("targets", "a forward route needs at least one target");
    if (handler) throw Error(handler->path(), "only a socket-handler route takes a socketHandler");
  } else {
    if (!handler)
      n.fail_at(
          "socketHandler",
          "is required for type socket-handler ({type: block}, {type: echo}, {type: httpRedirect, ...})");
    if (targets) throw Error(targets->path(), "a socket-handler route takes no targets");
  }
  return a;
}

// ---- security ------------------------------------------------------------------

RouteSecurity decode_security(const Node& n) {
  Fields f(n,
           {"ipAllowList", "ipBlockList", "maxConnections", "maxConnectionsPerIP",
            "connectionRateLimitPerMinute", "rateLimit", "basicAuth"},
           {{"jwtAuth", "JWT authentication"}, {"authentication", "external authentication"}});
  RouteSecurity s;
  if (auto v = f.get("ipAllowList")) s.ip_allow_list = decode_ip_patterns(*v);
  if (auto v = f.get("ipBlockList")) s.ip_block_list = decode_ip_patterns(*v);
  if (auto v = f.get("maxConnections")) s.max_connections = positive_count(*v);
  if (auto v = f.get("maxConnectionsPerIP")) s.max_connections_per_ip = positive_count(*v);
  if (auto v = f.get("connectionRateLimitPerMinute")) s.connection_rate_limit_per_minute = positive_count(*v);
  if (auto v = f.get("rateLimit")) {
    Fields r(*v, {"enabled", "maxRequests", "window", "keyBy", "headerName", "errorMessage"});
    if (!r.get("enabled") || decode_as<bool>(*r.get("enabled"))) {
      RateLimit limit;
      limit.max_requests = positive_count(r.require("maxRequests"));
      const Node w = r.require("window");
      std::int64_t secs = 0;
      std::uint64_t u = 0;
      if (!core::config::detail::integer_in_range(w.value(), 1, 86400, secs, u)) {
        w.fail("is not a window in seconds (1-86400)");
      }
      limit.window = std::chrono::seconds(secs);
      if (auto k = r.get("keyBy")) {
        limit.key_by = enum_of<RateLimitKey>(
            *k,
            {{"ip", RateLimitKey::kIp}, {"path", RateLimitKey::kPath}, {"header", RateLimitKey::kHeader}});
      }
      if (auto h = r.get("headerName")) {
        limit.header_name = decode_as<std::string>(*h);
        if (!HeaderPattern::valid_name(limit.header_name)) h->fail("is not a header field name");
      }
      if (limit.key_by == RateLimitKey::kHeader && limit.header_name.empty()) {
        v->fail_at("headerName", "is required with keyBy: header");
      }
      if (auto m = r.get("errorMessage")) limit.error_message = decode_as<std::string>(*m);
      s.rate_limit = std::move(limit);
    }
  }
  if (auto v = f.get("basicAuth")) {
    Fields b(*v, {"enabled", "users", "realm", "excludePaths"});
    if (!b.get("enabled") || decode_as<bool>(*b.get("enabled"))) {
      BasicAuth auth;
      const Node users = b.require("users");
      const auto& arr = core::config::detail::expect_array(users);
      if (arr.empty()) throw Error(users.path(), "needs at least one user");
      for (std::size_t i = 0; i < arr.size(); ++i) {
        const Node u = users.element(arr[i], i);
        Fields uf(u, {"username", "password"});
        BasicAuth::User user{decode_as<std::string>(uf.require("username")),
                             decode_as<std::string>(uf.require("password"))};
        if (user.username.empty() || user.username.find(':') != std::string::npos) {
          u.fail_at("username", "is empty or holds ':' (RFC 7617)");
        }
        auth.users.push_back(std::move(user));
      }
      if (auto r = b.get("realm")) {
        auth.realm = decode_as<std::string>(*r);
        if (auth.realm.find_first_of("\"\\\r\n") != std::string::npos)
          r->fail("holds a quote, backslash or line break");
      }
      if (auto e = b.get("excludePaths")) {
        auth.exclude_paths = decode_as<std::vector<std::string>>(*e);
        for (std::size_t i = 0; i < auth.exclude_paths.size(); ++i) {
          std::string error;
          if (!PathPattern::compile(auth.exclude_paths[i], &error)) {
            e->element(e->value().get_array()[i], i).fail(error);
          }
        }
      }
      s.basic_auth = std::move(auth);
    }
  }
  return s;
}

// ---- route ---------------------------------------------------------------------

// The first field that makes `r` an HTTP route (is_http_route), as a path
// below the route, or "" when there is none.
std::string first_http_feature(const RouteConfig& r) {
  const auto& m = r.match;
  if (m.path) return "match.path";
  if (!m.headers.empty()) return "match.headers";
  if (m.protocol == AppProtocol::kHttp) return "match.protocol";
  if (!r.request_headers.empty() || !r.response_headers.empty()) return "headers";
  if (r.action.url_rewrite) return "action.advanced.urlRewrite";
  if (r.action.backend_protocol != BackendProtocol::kAuto) return "action.options.backendProtocol";
  if (r.action.socket_handler && r.action.socket_handler->type >= SocketHandlerType::kHttpRedirect)
    return "action.socketHandler";
  if (r.security && r.security->rate_limit) return "security.rateLimit";
  if (r.security && r.security->basic_auth) return "security.basicAuth";
  if (!m.domains.empty() && !r.action.tls) return "match.domains";
  return {};
}

// What HTTP needs: a stream basalt can read (not passthrough, not protocol
// tcp), and an HTTP answer (not a connection handler).
void check_http_use(const RouteConfig& r, const Node& n) {
  const std::string feature = first_http_feature(r);
  if (feature.empty()) return;
  const std::string path = n.path() + "." + feature;
  if (r.action.tls && r.action.tls->mode == TlsMode::kPassthrough) {
    throw Error(path, "needs HTTP, which a passthrough route never sees (basalt does not end its TLS)");
  }
  if (r.match.protocol == AppProtocol::kTcp) {
    throw Error(path, "needs HTTP, but match.protocol is tcp");
  }
  if (r.action.socket_handler && r.action.socket_handler->type < SocketHandlerType::kHttpRedirect) {
    throw Error(n.path() + ".action.socketHandler.type",
                fmt::format("is a connection handler, but {} makes this an HTTP route (use httpBlock, "
                            "httpStatic or httpRedirect)",
                            feature));
  }
}

// `key` is in the mapping `n` with a value other than null.
bool has_key(const Node& n, std::string_view key) {
  if (!n.value().is_object()) return false;
  const auto* v = n.value().get_object().if_contains(key);
  return v && !v->is_null();
}

// A UDP route (transport udp or all) is matched on ports and clientIp per
// datagram: nothing carries a domain, a TLS hello or an HTTP request.
// action.udp belongs to such routes only.
void check_udp_use(const RouteConfig& r, const Node& n, bool udp_options) {
  const auto& m = r.match;
  if (m.transport == Transport::kTcp) {
    if (udp_options)
      throw Error(n.path() + ".action.udp", "applies only to routes with match.transport udp or all");
    return;
  }
  const std::string_view transport = m.transport == Transport::kUdp ? "udp" : "all";
  auto refuse = [&](std::string_view key, std::string_view why) {
    throw Error(n.path() + "." + std::string(key),
                fmt::format("does not apply to UDP (match.transport is {}): {}", transport, why));
  };
  if (!m.domains.empty())
    refuse("match.domains", "a datagram carries no domain; match on ports and clientIp");
  if (!m.tls_version.empty()) refuse("match.tlsVersion", "datagrams carry no TLS");
  if (m.path) refuse("match.path", "datagrams carry no HTTP request");
  if (!m.headers.empty()) refuse("match.headers", "datagrams carry no HTTP request");
  if (m.protocol == AppProtocol::kHttp) refuse("match.protocol", "HTTP runs over TCP");
  if (r.action.tls) refuse("action.tls", "basalt relays datagrams as they are (no DTLS)");
  const std::string feature = first_http_feature(r);
  if (!feature.empty()) refuse(feature, "it is an HTTP feature");
  if (m.transport == Transport::kUdp && r.action.load_balancing && r.action.load_balancing->health_check)
    refuse("action.loadBalancing.healthCheck", "active checks are HTTP requests");
}

// `certificate: auto` orders one certificate for exactly the route's
// domains: each must be a host name or "*." and a host name.
void check_auto_certificate(const RouteConfig& r, const Node& n) {
  if (!r.action.tls || !r.action.tls->auto_certificate) return;
  const std::string path = n.path() + ".action.tls.certificate";
  const std::string route = r.name.empty() ? n.path() : "route \"" + r.name + "\"";
  if (r.match.domains.empty()) {
    throw Error(path,
                fmt::format("auto needs match.domains on {}: the names to order a certificate for", route));
  }
  for (const auto& d : r.match.domains) {
    const std::string_view base = d.starts_with("*.") ? std::string_view(d).substr(2) : std::string_view(d);
    if (base.find_first_of("*?[") != std::string_view::npos || core::IpAddress::parse(base) ||
        !is_host(base) || base.find('.') == std::string_view::npos) {
      throw Error(path, fmt::format("auto cannot order a certificate for \"{}\" on {}: a CA certifies host "
                                    "names and \"*.\" wildcards, not other globs or addresses",
                                    d, route));
    }
  }
}

// Why `sendProxyProtocol: true` cannot apply to the route ("" if it can):
// a socket handler has no backend, and an HTTP route's requests go over
// pooled backend connections that carry many clients' requests.
std::string proxy_protocol_refusal(const RouteConfig& r) {
  if (r.action.type != ActionType::kForward)
    return "applies only to forward routes (a socket handler has no backend)";
  if (r.match.transport != Transport::kTcp) {
    // HAProxy and nginx send the header on TCP connections only; a UDP
    // backend would read it as the first datagram's payload.
    return fmt::format(
        "applies only to TCP routes (match.transport is {}): the header opens a TCP connection, and a UDP "
        "backend would take it for payload; split the route into a tcp and a udp one",
        r.match.transport == Transport::kUdp ? "udp" : "all");
  }
  const std::string feature = first_http_feature(r);
  if (feature.empty()) return {};
  return fmt::format(
      "cannot apply to an HTTP route ({} makes it one): its requests go to the backend over pooled "
      "connections shared by every client, which one PROXY header cannot describe; use it on routes that "
      "relay connections (TCP, TLS passthrough, terminate without HTTP features)",
      feature);
}

void check_send_proxy_protocol(const RouteConfig& r, const Node& n) {
  if (!r.action.send_proxy_protocol.value_or(false)) return;
  if (auto why = proxy_protocol_refusal(r); !why.empty())
    throw Error(n.path() + ".action.sendProxyProtocol", why);
}

// A kernel-forwarded route matches on ports only, and of its security only
// the address lists apply (as nftables sets, so addresses and CIDRs).
void check_kernel_route(const RouteConfig& r, const Node& n) {
  if (!r.action.nftables) return;
  const auto& m = r.match;
  const char* match_field = !m.domains.empty()                ? "domains"
                            : !m.client_ip.empty()            ? "clientIp"
                            : !m.tls_version.empty()          ? "tlsVersion"
                            : m.path                          ? "path"
                            : !m.headers.empty()              ? "headers"
                            : m.protocol != AppProtocol::kAny ? "protocol"
                                                              : nullptr;
  constexpr std::string_view kWhy =
      "does not apply with forwardingEngine: nftables (the kernel matches on ports and addresses only)";
  if (match_field) throw Error(n.path() + ".match." + match_field, std::string(kWhy));
  if (m.transport != Transport::kTcp)
    throw Error(n.path() + ".match.transport",
                "give a kernel-forwarded route's transport as action.nftables.protocol");
  if (!r.request_headers.empty() || !r.response_headers.empty())
    throw Error(n.path() + ".headers", std::string(kWhy));
  if (!r.security) return;
  const auto& s = *r.security;
  const char* security_field = s.max_connections                    ? "maxConnections"
                               : s.max_connections_per_ip           ? "maxConnectionsPerIP"
                               : s.connection_rate_limit_per_minute ? "connectionRateLimitPerMinute"
                               : s.rate_limit                       ? "rateLimit"
                               : s.basic_auth                       ? "basicAuth"
                                                                    : nullptr;
  if (security_field) throw Error(n.path() + ".security." + security_field, std::string(kWhy));
  for (const auto* list : {&s.ip_allow_list, &s.ip_block_list}) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (core::Cidr::parse((*list)[i])) continue;
      throw Error(fmt::format("{}.security.{}[{}]", n.path(),
                              list == &s.ip_allow_list ? "ipAllowList" : "ipBlockList", i),
                  fmt::format("\"{}\" is not an IP address or a CIDR (kernel forwarding takes no globs)",
                              (*list)[i]));
    }
  }
}

RouteConfig decode_route(const Node& n, std::string_view base_dir) {
  Fields f(n,
           {"name", "description", "tags", "priority", "enabled", "match", "action", "security", "headers"});
  RouteConfig r;
  if (auto v = f.get("name")) {
    r.name = decode_as<std::string>(*v);
    if (r.name.starts_with('#')) v->fail("starts with '#', which names unnamed routes by position");
  }
  if (auto v = f.get("description")) r.description = decode_as<std::string>(*v);
  if (auto v = f.get("tags")) r.tags = decode_as<std::vector<std::string>>(*v);
  if (auto v = f.get("priority")) r.priority = decode_as<std::int32_t>(*v);
  if (auto v = f.get("enabled")) r.enabled = decode_as<bool>(*v);
  const Node match = f.require("match");
  r.match = decode_match(match);
  r.action = decode_action(f.require("action"), base_dir);
  if (auto v = f.get("security")) r.security = decode_security(*v);
  if (auto v = f.get("headers")) {
    Fields h(*v, {"request", "response"});
    if (auto q = h.get("request")) r.request_headers = decode_header_edits(*q);
    if (auto q = h.get("response")) r.response_headers = decode_header_edits(*q);
  }
  check_udp_use(r, n, has_key(f.require("action"), "udp"));
  check_kernel_route(r, n);
  check_http_use(r, n);
  check_auto_certificate(r, n);
  check_send_proxy_protocol(r, n);
  return r;
}

std::vector<RouteConfig> decode_route_list(const Node& n, std::string_view base_dir) {
  const auto& arr = core::config::detail::expect_array(n);
  std::vector<RouteConfig> routes;
  routes.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    routes.push_back(decode_route(n.element(arr[i], i), base_dir));
    const auto& name = routes.back().name;
    if (name.empty()) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (routes[j].name == name) {
        throw Error(n.index_path(i) + ".name", fmt::format("\"{}\" is used by {}", name, n.index_path(j)));
      }
    }
  }
  return routes;
}

// ---- options -------------------------------------------------------------------

DefaultsConfig decode_defaults(const Node& n) {
  Fields f(n, {"security"}, {{"target", "a default target"}});
  DefaultsConfig d;
  if (auto s = f.get("security")) d.security = decode_security(*s);
  return d;
}

DnsConfig decode_dns(const Node& n) {
  Fields f(n, {"servers"});
  DnsConfig d;
  if (auto s = f.get("servers")) {
    d.servers = decode_as<std::vector<std::string>>(*s);
    for (std::size_t i = 0; i < d.servers.size(); ++i) {
      std::string error;
      if (!core::Endpoint::parse(d.servers[i], &error, {.default_port = 53})) {
        s->element(s->value().get_array()[i], i).fail(error);
      }
    }
  }
  return d;
}

HttpOptions decode_http(const Node& n) {
  Fields f(n, {"forwardedHeaders", "forwarded", "via", "accessLog", "requestIdHeader", "backendTimeout",
               "idleTimeout", "requestTimeout", "maxBodySize"});
  HttpOptions h;
  if (auto v = f.get("forwardedHeaders")) h.forwarded_headers = decode_as<bool>(*v);
  if (auto v = f.get("forwarded")) h.forwarded = decode_as<bool>(*v);
  if (auto v = f.get("via")) h.via = decode_as<bool>(*v);
  if (auto v = f.get("accessLog")) h.access_log = decode_as<bool>(*v);
  if (auto v = f.get("requestIdHeader")) {
    h.request_id_header = decode_as<std::string>(*v);
    if (!HeaderPattern::valid_name(h.request_id_header)) v->fail("is not a header field name");
  }
  if (auto v = f.get("backendTimeout")) h.backend_timeout = timeout_of(*v);
  if (auto v = f.get("idleTimeout")) h.idle_timeout = timeout_of(*v);
  if (auto v = f.get("requestTimeout")) h.request_timeout = timeout_of(*v);
  if (auto v = f.get("maxBodySize")) h.max_body_bytes = decode_as<std::uint64_t>(*v);
  return h;
}

AcmeOptions decode_acme(const Node& n, std::string_view base_dir) {
  Fields f(n, {"email", "accountEmail", "useProduction", "port", "renewThresholdDays", "autoRenew",
               "certificateStore", "renewCheckIntervalHours", "directory", "directoryCa", "challengeTypes",
               "dns01", "certProvision"});
  AcmeOptions a;
  for (std::string_view key : {"email", "accountEmail"}) {
    if (auto v = f.get(key)) {
      a.email = decode_as<std::string>(*v);
      const auto at = a.email.find('@');
      if (at == std::string::npos || at == 0 || at + 1 == a.email.size() ||
          a.email.find_first_of(" \t\r\n,<>") != std::string::npos) {
        v->fail("is not an email address");
      }
    }
  }
  if (auto v = f.get("useProduction")) a.use_production = decode_as<bool>(*v);
  if (auto v = f.get("port")) a.port = port_of(*v);
  std::int64_t s = 0;
  std::uint64_t u = 0;
  if (auto v = f.get("renewThresholdDays")) {
    if (!core::config::detail::integer_in_range(v->value(), 1, 365, s, u))
      v->fail("is not a number of days (1-365)");
    a.renew_threshold_days = static_cast<std::uint32_t>(u);
  }
  if (auto v = f.get("autoRenew")) a.auto_renew = decode_as<bool>(*v);
  if (auto v = f.get("certificateStore")) {
    a.certificate_store = decode_as<std::string>(*v);
    if (a.certificate_store.empty()) v->fail("is not a folder");
    a.certificate_store = resolve_path(a.certificate_store, base_dir);
  }
  if (auto v = f.get("renewCheckIntervalHours")) {
    if (!core::config::detail::integer_in_range(v->value(), 1, 8760, s, u))
      v->fail("is not a number of hours (1-8760)");
    a.renew_check_interval_hours = static_cast<std::uint32_t>(u);
  }
  if (auto v = f.get("directory")) {
    a.directory = decode_as<std::string>(*v);
    if (!a.directory.starts_with("https://") || a.directory.size() <= 8 ||
        a.directory.find_first_of(" \t\r\n") != std::string::npos) {
      v->fail("is not an https:// URL of an ACME directory");
    }
  }
  if (auto v = f.get("directoryCa")) {
    a.directory_ca = resolve_path(decode_as<std::string>(*v), base_dir);
    std::string reason;
    if (a.directory_ca.empty()) v->fail("is not a PEM file or PEM text");
    if (!is_pem_text(a.directory_ca) && !core::read_regular_file(a.directory_ca, kMaxCaFileSize, &reason)) {
      throw Error(v->path(), fmt::format("cannot read \"{}\": {}", a.directory_ca, reason));
    }
  }
  if (auto v = f.get("challengeTypes")) {
    const auto& arr = core::config::detail::expect_array(*v);
    if (arr.empty()) throw Error(v->path(), "needs at least one of: http-01, tls-alpn-01");
    a.challenge_types.clear();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const Node item = v->element(arr[i], i);
      auto type = enum_of<std::string_view>(item, {{"http-01", "http-01"}, {"tls-alpn-01", "tls-alpn-01"}});
      if (std::find(a.challenge_types.begin(), a.challenge_types.end(), type) != a.challenge_types.end())
        item.fail("is listed twice");
      a.challenge_types.emplace_back(type);
    }
  }
  if (auto v = f.get("dns01")) {
    Fields d(*v, {"managementSocket"});
    const Node socket = d.require("managementSocket");
    a.dns01_management_socket = resolve_path(decode_as<std::string>(socket), base_dir);
    if (a.dns01_management_socket.empty()) socket.fail("is not the path of basalt-dns's management socket");
  }
  if (auto v = f.get("certProvision")) {
    a.cert_provision =
        enum_of<CertProvision>(*v, {{"acme", CertProvision::kAcme}, {"driver", CertProvision::kDriver}});
  }
  return a;
}

}  // namespace

std::string AcmeOptions::directory_url() const {
  if (!directory.empty()) return directory;
  return use_production ? "https://acme-v02.api.letsencrypt.org/directory"
                        : "https://acme-staging-v02.api.letsencrypt.org/directory";
}

ProxyOptions decode_options(const boost::json::value& value, std::string_view base_dir) {
  const Node root(value, "");
  Fields f(root, {"routes",
                  "defaults",
                  "connectTimeout",
                  "initialDataTimeout",
                  "inactivityTimeout",
                  "maxConnectionLifetime",
                  "gracefulShutdownTimeout",
                  "drainGrace",
                  "drainTimeout",
                  "takeoverSocket",
                  "maxConnectionsPerIP",
                  "connectionRateLimitPerMinute",
                  "stateDir",
                  "workers",
                  "bindAddresses",
                  "user",
                  "dns",
                  "metrics",
                  "log",
                  "acceptProxyProtocol",
                  "proxyIPs",
                  "sendProxyProtocol",
                  "proxyProtocolVersion",
                  "http",
                  "acme"});
  ProxyOptions o;
  if (auto v = f.get("acceptProxyProtocol")) o.accept_proxy_protocol = decode_as<bool>(*v);
  if (auto v = f.get("sendProxyProtocol")) o.send_proxy_protocol = decode_as<bool>(*v);
  if (auto v = f.get("proxyProtocolVersion")) o.proxy_protocol_version = proxy_protocol_version_of(*v);
  if (auto v = f.get("proxyIPs")) o.proxy_ips = decode_ip_patterns(*v);
  if (o.accept_proxy_protocol && o.proxy_ips.empty()) {
    root.fail_at("acceptProxyProtocol",
                 "needs proxyIPs: the addresses of the proxies in front, the only peers whose PROXY headers "
                 "are accepted");
  }
  if (auto v = f.get("http")) o.http = decode_http(*v);
  if (auto v = f.get("defaults")) o.defaults = decode_defaults(*v);
  if (auto v = f.get("connectTimeout")) o.connect_timeout = timeout_of(*v);
  if (auto v = f.get("initialDataTimeout")) o.initial_data_timeout = timeout_of(*v);
  if (auto v = f.get("inactivityTimeout")) o.inactivity_timeout = timeout_of(*v);
  if (auto v = f.get("maxConnectionLifetime")) o.max_connection_lifetime = timeout_of(*v);
  if (auto v = f.get("gracefulShutdownTimeout")) o.graceful_shutdown_timeout = timeout_of(*v);
  if (auto v = f.get("drainGrace")) o.drain_grace = timeout_of(*v);
  if (auto v = f.get("drainTimeout")) o.drain_timeout = timeout_of(*v);
  if (auto v = f.get("takeoverSocket")) {
    o.takeover_socket = resolve_path(decode_as<std::string>(*v), base_dir);
    if (o.takeover_socket.empty()) v->fail("is empty (leave it out for <stateDir>/takeover.sock)");
    if (o.takeover_socket.size() >= kMaxUnixSocketPath)
      v->fail(fmt::format("is longer than a Unix socket path may be ({} bytes)", kMaxUnixSocketPath - 1));
  }
  if (auto v = f.get("maxConnectionsPerIP")) o.max_connections_per_ip = positive_count(*v);
  if (auto v = f.get("connectionRateLimitPerMinute")) o.connection_rate_limit_per_minute = positive_count(*v);
  if (auto v = f.get("stateDir")) o.state_dir = decode_as<std::string>(*v);
  if (auto v = f.get("workers")) {
    std::int64_t s = 0;
    std::uint64_t u = 0;
    if (!core::config::detail::integer_in_range(v->value(), 0, kMaxWorkers, s, u)) {
      v->fail(fmt::format("is not a number of workers (0 to {}; 0: one per CPU)", kMaxWorkers));
    }
    o.workers = static_cast<std::uint32_t>(u);
  }
  if (auto v = f.get("bindAddresses")) o.bind_addresses = decode_as<std::vector<core::IpAddress>>(*v);
  if (auto v = f.get("user")) o.user = decode_as<std::string>(*v);
  if (auto v = f.get("dns")) o.dns = decode_dns(*v);
  if (auto v = f.get("metrics")) o.metrics_listen = decode_as<service::MetricsConfig>(*v).listen;
  if (auto v = f.get("log")) o.log_level = decode_as<service::LogConfig>(*v).level;
  if (auto v = f.get("acme")) o.acme = decode_acme(*v, base_dir);
  if (auto v = f.get("routes")) o.routes = decode_route_list(*v, base_dir);
  check_acme_use(o.routes, o.acme);
  resolve_proxy_protocol(o.routes, o);  // the options' sendProxyProtocol against HTTP routes
  return o;
}

std::vector<RouteConfig> decode_routes(const boost::json::value& value, std::string_view root,
                                       std::string_view base_dir) {
  return decode_route_list(Node(value, std::string(root)), base_dir);
}

void check_acme_use(const std::vector<RouteConfig>& routes, const std::optional<AcmeOptions>& acme,
                    std::string_view root) {
  bool any = false;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& tls = routes[i].action.tls;
    if (!tls || !tls->auto_certificate) continue;
    const std::string path = fmt::format("{}[{}].action.tls.certificate", root, i);
    const std::string id = route_id(routes[i], i);
    if (!acme) {
      throw Error(path, "auto (route " + id +
                            ") needs the acme section (acme: {email, ...}: the CA and its account)");
    }
    for (const auto& domain : routes[i].match.domains) {
      if (domain.starts_with("*.") && acme->dns01_management_socket.empty()) {
        throw Error(path, "auto for \"" + domain + "\" (route " + id +
                              "): a CA validates wildcard names only through dns-01, which needs "
                              "acme.dns01.managementSocket (a running basalt-dns)");
      }
    }
    any = true;
  }
  if (!any) return;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const auto& r = routes[i];
    if (!r.enabled || is_http_route(r) || !r.match.ports.contains(acme->port)) continue;
    throw Error(
        fmt::format("{}[{}].match.ports", root, i),
        fmt::format("route {} carries TCP on port {}, which is acme.port: the HTTP-01 port must carry HTTP "
                    "routes or none (set acme.port to another port)",
                    route_id(r, i), acme->port));
  }
}

std::vector<RouteConfig> resolve_proxy_protocol(std::vector<RouteConfig> routes, const ProxyOptions& options,
                                                std::string_view root) {
  for (std::size_t i = 0; i < routes.size(); ++i) {
    auto& action = routes[i].action;
    if (!action.send_proxy_protocol) {
      // The options' value reaches the routes it can apply to; an HTTP
      // route must say false itself, so that it is never silently ignored.
      const std::string why = proxy_protocol_refusal(routes[i]);
      if (options.send_proxy_protocol && !why.empty() && action.type == ActionType::kForward) {
        throw Error(
            fmt::format("{}[{}].action", root, i),
            fmt::format("sendProxyProtocol: true (options) {} (set action.sendProxyProtocol: false on "
                        "route {})",
                        why, route_id(routes[i], i)));
      }
      action.send_proxy_protocol = options.send_proxy_protocol && why.empty();
    }
    if (!action.proxy_protocol_version) action.proxy_protocol_version = options.proxy_protocol_version;
  }
  return routes;
}

bool is_http_route(const RouteConfig& route) {
  return !first_http_feature(route).empty();
}

std::string route_id(const RouteConfig& route, std::size_t position) {
  return route.name.empty() ? fmt::format("#{}", position) : route.name;
}

}  // namespace basalt::proxy
