// basalt-proxy's configuration: smartproxy's `ISmartProxyOptions` and route
// objects (`IRouteConfig`), field for field and camelCase, so routes can be
// pasted across from the TypeScript package. The same structs come from the
// config file (`basalt-proxy serve --config`) and from the management
// protocol (`start {config}`, `updateRoutes {routes}`).
//
//   auto options = proxy::decode_options(core::config::load_file("proxy.yaml"));
//   auto routes  = proxy::decode_routes(params.at("routes"), "routes");
//
// Decoding validates everything a route needs before it is used: errors are
// core::config::Error naming the key path, the value and what is allowed
// (`routes[2].match.ports[1].to: 70000 is not a port (1-65535)`). Fields of
// the package that basalt does not implement yet are rejected with
// "... is not supported yet", never accepted and ignored. docs/proxy.md
// lists every field and default.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/ip.hpp"
#include "basalt/core/log.hpp"
#include "basalt/service/tls_config.hpp"

namespace basalt::proxy {

// ---- match -------------------------------------------------------------------

// `ports`: a number, or a list of numbers and {from, to} ranges.
struct PortRange {
  std::uint16_t from = 0;
  std::uint16_t to = 0;
};
struct PortSet {
  std::vector<PortRange> ranges;
  bool contains(std::uint16_t port) const noexcept;
  // Every port, sorted, without duplicates.
  std::vector<std::uint16_t> expand() const;
};

enum class Transport { kTcp, kUdp, kAll };
enum class AppProtocol { kAny, kHttp, kTcp, kQuic };  // kAny: the key is absent

struct RouteMatch {
  PortSet ports;  // required
  Transport transport = Transport::kTcp;
  AppProtocol protocol = AppProtocol::kAny;
  // SNI (TLS routes) or Host (HTTP routes); "*.example.test" globs. Empty:
  // every connection, with or without a domain. `domains: "x"` and
  // `domains: ["x"]` both land here, lowercased, trailing dot removed.
  std::vector<std::string> domains;
  std::optional<std::string> path;             // HTTP (next issue)
  std::vector<std::string> client_ip;          // addresses, CIDRs, globs ("192.168.*")
  std::vector<std::string> tls_version;        // "TLSv1.2", "TLSv1.3"
  std::map<std::string, std::string> headers;  // HTTP (next issue)
};

// ---- action ------------------------------------------------------------------

struct Target {
  std::vector<std::string> host;  // `host: "a"` or `host: ["a", "b"]`: tried in turn
  bool preserve_port = false;     // `port: preserve`: the port the client connected to
  std::uint16_t port = 0;
};

enum class TlsMode { kPassthrough, kTerminate, kTerminateAndReencrypt };
enum class TlsProtocolVersion { kTls12, kTls13 };

// Ours: how a terminate-and-reencrypt route talks TLS to its backend.
struct BackendTls {
  bool verify = true;       // against `ca`, else the system trust store
  std::string ca;           // PEM file or text
  std::string server_name;  // SNI and the name checked; default: the client's SNI, else the target host
};

struct RouteTls {
  TlsMode mode = TlsMode::kPassthrough;
  // `certificate: {cert, key}` (PEM text or file paths, resolved against the
  // config file's folder). Required for terminate modes; `auto` is rejected
  // until ACME arrives.
  std::optional<service::TlsConfig> certificate;
  std::vector<TlsProtocolVersion> versions;  // ours; empty: TLS 1.2 and 1.3
  std::string ciphers;  // ours; OpenSSL cipher list for TLS 1.2; empty: OpenSSL's default
  BackendTls backend;   // ours; terminate-and-reencrypt only
};

enum class ActionType { kForward, kSocketHandler };
enum class SocketHandlerType { kBlock, kEcho };

struct SocketHandler {
  SocketHandlerType type = SocketHandlerType::kBlock;
};

struct RouteAction {
  ActionType type = ActionType::kForward;
  std::vector<Target> targets;  // forward: at least one
  std::optional<RouteTls> tls;
  std::optional<SocketHandler> socket_handler;  // socket-handler: required
};

// ---- security ----------------------------------------------------------------

struct RouteSecurity {
  std::vector<std::string> ip_allow_list;  // addresses, CIDRs, globs; empty: everyone
  std::vector<std::string> ip_block_list;  // wins over the allow list
  std::optional<std::uint32_t> max_connections;
  std::optional<std::uint32_t> max_connections_per_ip;
  std::optional<std::uint32_t> connection_rate_limit_per_minute;
};

// ---- route -------------------------------------------------------------------

struct RouteConfig {
  std::string name;  // identity across updates; unnamed routes are known by position
  std::string description;
  std::vector<std::string> tags;
  std::int32_t priority = 0;  // higher first
  bool enabled = true;
  RouteMatch match;
  RouteAction action;
  std::optional<RouteSecurity> security;
};

// ---- options -----------------------------------------------------------------

struct DefaultsConfig {
  std::optional<RouteSecurity> security;  // applies to routes without their own field
};

struct DnsConfig {
  std::vector<std::string> servers;  // "ADDR[:PORT]"; empty: the system resolver
};

struct ProxyOptions {
  std::vector<RouteConfig> routes;
  DefaultsConfig defaults;
  // Timeouts; the file gives milliseconds (numbers), as the package does.
  std::chrono::milliseconds connect_timeout{30'000};
  std::chrono::milliseconds initial_data_timeout{60'000};
  std::chrono::milliseconds inactivity_timeout{14'400'000};
  std::chrono::milliseconds max_connection_lifetime{86'400'000};
  std::chrono::milliseconds graceful_shutdown_timeout{30'000};
  std::optional<std::uint32_t> max_connections_per_ip;
  std::optional<std::uint32_t> connection_rate_limit_per_minute;
  // Ours: process and host settings.
  std::string state_dir;                        // "" = the default (/var/lib/basalt-proxy)
  std::uint32_t workers = 0;                    // 0: the CPUs this process may run on
  std::vector<core::IpAddress> bind_addresses;  // empty: every IPv4 and IPv6 address
  std::string user;                             // drop privileges to this user after binding
  DnsConfig dns;
  std::optional<core::Endpoint> metrics_listen;     // `metrics: {listen}`: Prometheus /metrics
  core::LogLevel log_level = core::LogLevel::info;  // `log: {level}`
};

// Decodes the whole options object (config file or `start {config}`).
// `base_dir` resolves relative certificate and CA paths (the config file's
// folder; "" = the working directory). Throws core::config::Error.
ProxyOptions decode_options(const boost::json::value& value, std::string_view base_dir = {});
// Decodes `updateRoutes {routes}`: the same checks as the file's `routes`,
// paths under `root` ("routes[1].match.ports").
std::vector<RouteConfig> decode_routes(const boost::json::value& value, std::string_view root = "routes",
                                       std::string_view base_dir = {});

// The route's identity across updates: its name, else "#<position>".
std::string route_id(const RouteConfig& route, std::size_t position);

}  // namespace basalt::proxy
