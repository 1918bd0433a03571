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
  // HTTP: the request path (before '?') as a glob, "/api/*" ('*' crosses '/').
  std::optional<std::string> path;
  std::vector<std::string> client_ip;    // addresses, CIDRs, globs ("192.168.*")
  std::vector<std::string> tls_version;  // "TLSv1.2", "TLSv1.3"
  // HTTP: request header (name case-insensitive) -> exact value, or
  // "/regex/" (ECMAScript, searched in the value).
  std::map<std::string, std::string> headers;
};

// ---- action ------------------------------------------------------------------

struct Target {
  std::vector<std::string> host;  // `host: "a"` or `host: ["a", "b"]`: one backend each
  bool preserve_port = false;     // `port: preserve`: the port the client connected to
  std::uint16_t port = 0;
  std::uint32_t weight = 1;  // ours: relative share under load balancing (1-1000)
};

// ---- load balancing (action.loadBalancing) -----------------------------------

enum class BalanceAlgorithm { kRoundRobin, kLeastConnections, kIpHash };

// Active checks: GET `path` on every backend each `interval`; a 2xx/3xx
// answer within `timeout` is a success.
struct HealthCheck {
  std::string path = "/";
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds timeout{2'000};
  std::uint32_t unhealthy_threshold = 3;  // consecutive failures to mark down
  std::uint32_t healthy_threshold = 2;    // consecutive successes to mark up
};

// Ours (Envoy's outlier detection): a backend with `consecutiveFailures`
// connect failures or 5xx in a row is ejected for baseEjectionTime, doubled
// at each ejection in a row, at most maxEjectionTime.
struct PassiveHealth {
  std::uint32_t consecutive_failures = 5;  // 0: passive ejection off
  std::chrono::milliseconds base_ejection_time{30'000};
  std::chrono::milliseconds max_ejection_time{300'000};
};

struct LoadBalancing {
  BalanceAlgorithm algorithm = BalanceAlgorithm::kRoundRobin;
  std::optional<HealthCheck> health_check;
  PassiveHealth passive;  // ours: `passiveHealthCheck`
  // Ours: requests waiting for or running on one backend; over it the
  // backend counts as full (another is tried; none left: 503).
  std::uint32_t max_pending_requests = 1024;
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
  // config file's folder), or `certificate: auto` (auto_certificate: ACME,
  // the options' `acme` section, for exactly the route's domains). One of
  // them is required for terminate modes.
  std::optional<service::TlsConfig> certificate;
  bool auto_certificate = false;
  std::vector<TlsProtocolVersion> versions;  // ours; empty: TLS 1.2 and 1.3
  std::string ciphers;  // ours; OpenSSL cipher list for TLS 1.2; empty: OpenSSL's default
  BackendTls backend;   // ours; terminate-and-reencrypt only
};

enum class ActionType { kForward, kSocketHandler };
enum class SocketHandlerType { kBlock, kEcho, kHttpRedirect, kHttpBlock, kHttpStatic };

// A header list in order; a field whose value is nullopt is removed.
using HeaderEdits = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct SocketHandler {
  SocketHandlerType type = SocketHandlerType::kBlock;
  // httpRedirect / httpBlock / httpStatic: the answer. `location` and
  // `body` are templates ({domain}, {path}, ...: docs/proxy.md).
  int status = 0;  // default: 301 redirect, 403 block, 200 static
  std::string location;
  std::string body;
  HeaderEdits headers;  // httpStatic
};

enum class BackendProtocol { kAuto, kHttp1, kHttp2 };

// Ours: WebSocket upgrades on HTTP routes.
struct WebSocketOptions {
  bool enabled = true;
  // The proxy's own Ping to both sides after this much silence (between
  // their frames; the answering Pongs are swallowed); 0: none. A side that
  // does not answer within pingTimeout ends the tunnel.
  std::chrono::milliseconds ping_interval{0};
  std::chrono::milliseconds ping_timeout{10'000};
};

// `action.advanced.urlRewrite` (the package's IRouteUrlRewrite): the path
// (and query, unless onlyRewritePath) matched against `pattern`
// (ECMAScript regex) is replaced by `target` ($1.. groups; {templates}).
struct UrlRewrite {
  std::string pattern;
  std::string target;
  bool only_rewrite_path = true;
};

// `action.udp` (seed article) for routes with match.transport udp or all:
// one session per client address and port (docs/proxy.md, "UDP routes").
struct UdpOptions {
  std::chrono::milliseconds session_timeout{60'000};  // idle time (either direction) before a session ends
  std::uint32_t max_sessions_per_ip = 1'000;          // per route, over every worker
  std::uint32_t max_datagram_size = 65'535;           // larger datagrams are dropped and counted
};

// `forwardingEngine: nftables` with `action.nftables` (the package's
// NfTableProxyOptions): the kernel forwards the route's ports by DNAT; the
// proxy never sees its connections (docs/proxy.md, "Kernel forwarding").
struct NftablesOptions {
  std::string to_host;                   // `toHost`; empty: the route's one target host (an IP address)
  std::vector<PortRange> to_port;        // `toPort`; empty: the target's port (or the same port: `preserve`)
  Transport protocol = Transport::kTcp;  // tcp | udp | all
  bool preserve_source_ip = false;       // no masquerade: the backend must route back through this host
  bool enable_logging = false;           // a kernel log line per new connection
  bool ipv6_support = false;
  std::optional<std::vector<std::string>> ip_allow_list;  // absent: the route's security lists
  std::optional<std::vector<std::string>> ip_block_list;
  std::string table_name = "basalt_proxy";  // in family inet
};

struct RouteAction {
  ActionType type = ActionType::kForward;
  std::vector<Target> targets;  // forward: at least one
  std::optional<RouteTls> tls;
  std::optional<SocketHandler> socket_handler;  // socket-handler: required
  std::optional<LoadBalancing> load_balancing;  // absent: round-robin, no active checks
  WebSocketOptions websocket;
  BackendProtocol backend_protocol = BackendProtocol::kAuto;  // `options.backendProtocol`
  std::optional<UrlRewrite> url_rewrite;
  // A PROXY protocol header as the first bytes to the backend (TCP, TLS
  // passthrough, terminated connections; not HTTP routes). Unset: the
  // options' sendProxyProtocol / proxyProtocolVersion (ours, 1 or 2).
  std::optional<bool> send_proxy_protocol;
  std::optional<int> proxy_protocol_version;
  UdpOptions udp;                           // transport udp / all
  std::optional<NftablesOptions> nftables;  // forwardingEngine: nftables
};

// ---- security ----------------------------------------------------------------

enum class RateLimitKey { kIp, kPath, kHeader };

// HTTP: at most maxRequests per `window` for each key (client IP, path, or
// the value of header `headerName`); over it: 429 with Retry-After.
struct RateLimit {
  std::uint32_t max_requests = 0;
  std::chrono::seconds window{60};  // the package gives seconds
  RateLimitKey key_by = RateLimitKey::kIp;
  std::string header_name;    // keyBy: header
  std::string error_message;  // body of the 429; default "Too Many Requests"
};

// HTTP: requests must carry one of `users` (Authorization: Basic); else 401
// with WWW-Authenticate naming `realm`.
struct BasicAuth {
  struct User {
    std::string username;
    std::string password;
  };
  std::vector<User> users;
  std::string realm = "basalt-proxy";
  std::vector<std::string> exclude_paths;  // path globs that need no credentials
};

struct RouteSecurity {
  std::vector<std::string> ip_allow_list;  // addresses, CIDRs, globs; empty: everyone
  std::vector<std::string> ip_block_list;  // wins over the allow list
  std::optional<std::uint32_t> max_connections;
  std::optional<std::uint32_t> max_connections_per_ip;
  std::optional<std::uint32_t> connection_rate_limit_per_minute;
  std::optional<RateLimit> rate_limit;
  std::optional<BasicAuth> basic_auth;
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
  // Ours: `headers: {request: {...}, response: {...}}`: set (templated
  // value) or, with null, remove fields on the way to the backend / client.
  HeaderEdits request_headers;
  HeaderEdits response_headers;
};

// ---- options -----------------------------------------------------------------

struct DefaultsConfig {
  std::optional<RouteSecurity> security;  // applies to routes without their own field
};

// Ours: `http:` how the proxy forwards HTTP requests.
struct HttpOptions {
  bool forwarded_headers = true;  // X-Forwarded-For, -Proto, -Host
  bool forwarded = false;         // RFC 7239 Forwarded
  bool via = false;               // Via: 1.1 basalt-proxy
  bool access_log = false;        // one JSON line per request (stderr, `info`)
  std::string request_id_header = "x-request-id";
  // From the request sent to the backend's response head. -> 504
  std::chrono::milliseconds backend_timeout{60'000};
  // Client side: keep-alive between requests, and the time to a whole head.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds request_timeout{30'000};
  std::uint64_t max_body_bytes = 0;  // request bodies; 0: no limit (413 over it)
};

// `acme`: how `certificate: auto` routes get their certificates
// (docs/proxy.md, "Certificates"). Package names, plus basalt's own
// (marked "ours").
enum class CertProvision { kAcme, kDriver };
struct AcmeOptions {
  std::string email;            // `email` or `accountEmail`: the account's contact
  bool use_production = false;  // without `directory`: Let's Encrypt production, else staging
  std::string directory;        // ours: any RFC 8555 CA's directory URL (https); wins over useProduction
  std::string directory_ca;     // ours: PEM file or text the CA's HTTPS is checked against
  std::uint16_t port = 80;      // HTTP-01: the proxy listens here whenever a route uses `auto`
  std::uint32_t renew_threshold_days = 30;
  bool auto_renew = true;
  std::string certificate_store;  // "" = <stateDir>/certs; shared by proxies given the same folder
  std::uint32_t renew_check_interval_hours = 24;
  // Ours: challenge types for names without "*.", in order of preference
  // (the first the CA offers is answered): http-01, tls-alpn-01.
  std::vector<std::string> challenge_types{"http-01", "tls-alpn-01"};
  // Ours: `dns01: {managementSocket}`: wildcard names are validated through
  // this running basalt-dns. Empty: no wildcard names.
  std::string dns01_management_socket;
  // Ours: `certProvision: driver`: the management driver is asked first
  // (event certificateRequest), as the package's certProvisionFunction.
  CertProvision cert_provision = CertProvision::kAcme;

  // `directory`, else Let's Encrypt's production or staging directory.
  std::string directory_url() const;
  bool operator==(const AcmeOptions&) const = default;
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
  // Ours: what a route removed by an update still carries (connections,
  // in-flight requests, tunnels) keeps running this long, then is closed.
  std::chrono::milliseconds drain_grace{600'000};
  // Ours: the hard stop of a process draining after a takeover or `drain`
  // (Envoy's parent-shutdown-time): connections still open then are closed.
  std::chrono::milliseconds drain_timeout{900'000};
  std::optional<std::uint32_t> max_connections_per_ip;
  std::optional<std::uint32_t> connection_rate_limit_per_minute;
  // Peers whose X-Forwarded-* / Forwarded fields are trusted and extended
  // (addresses, CIDRs, globs); from anyone else they are replaced.
  std::vector<std::string> proxy_ips;
  // Connections from proxy_ips must start with a PROXY protocol header (v1
  // or v2): its client address is the one the proxy uses. A header from
  // any other peer is refused.
  bool accept_proxy_protocol = false;
  bool send_proxy_protocol = false;  // routes that leave it out
  int proxy_protocol_version = 2;    // ours: what sendProxyProtocol writes
  HttpOptions http;
  // Ours: process and host settings.
  std::string state_dir;  // "" = the default (/var/lib/basalt-proxy)
  // Ours: where a running proxy hands its listening sockets to a successor
  // (`serve --takeover`). "" = <stateDir>/takeover.sock.
  std::string takeover_socket;
  std::uint32_t workers = 0;                    // 0: the CPUs this process may run on
  std::vector<core::IpAddress> bind_addresses;  // empty: every IPv4 and IPv6 address
  std::string user;                             // drop privileges to this user after binding
  DnsConfig dns;
  std::optional<AcmeOptions> acme;
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

// True when connections on the route are read as HTTP: it matches on
// path, headers, protocol http or (without action.tls) domains, or uses an
// HTTP feature (header edits, urlRewrite, backendProtocol, an http* socket
// handler, rateLimit, basicAuth). docs/proxy.md, "TCP or HTTP".
bool is_http_route(const RouteConfig& route);

// What `certificate: auto` routes need of the `acme` section: that it
// exists, acme.dns01 for "*." names, and no TCP route on acme.port (it is
// read as HTTP). decode_options() runs it; updateRoutes runs it against the
// running section. Throws core::config::Error naming routes[i] (under `root`).
void check_acme_use(const std::vector<RouteConfig>& routes, const std::optional<AcmeOptions>& acme,
                    std::string_view root = "routes");

// `routes` as connections use them: action.sendProxyProtocol and
// proxyProtocolVersion filled from `options` where a route leaves them out
// (the options' sendProxyProtocol reaches only routes it can apply to).
// Throws core::config::Error (under `root`) when the options'
// sendProxyProtocol: true meets an HTTP route that does not say false.
std::vector<RouteConfig> resolve_proxy_protocol(std::vector<RouteConfig> routes, const ProxyOptions& options,
                                                std::string_view root = "routes");

// The route's identity across updates: its name, else "#<position>".
std::string route_id(const RouteConfig& route, std::size_t position);

}  // namespace basalt::proxy
