// The configuration of an authoritative DNS server (`basalt-dns serve`).
//
// The YAML/JSON config file decodes into ServerConfig (core/config.hpp):
//
//   listen: [127.0.0.1:5353]          # UDP + TCP on each
//   zones:
//     - file: examples/dns/example.test.zone
//     - apex: dyn.example.test        # SOA/NS synthesised, answers from handlers
//   transfer: {allow: [127.0.0.1/32], notify: [127.0.0.1:5354]}
//   state_dir: /var/lib/basalt-dns
//   metrics: {listen: 127.0.0.1:9153}
//   doh: [{listen: 127.0.0.1:8443, path: /dns-query}]   # DNS over HTTPS (RFC 8484)
//   tls: {cert: /etc/basalt/doh.pem, key: /etc/basalt/doh.key}  # files or inline PEM
//   log: {level: info}
//   dnssec: {zone: example.test, algorithm: ecdsa-p256, key_dir: DIR, signature_validity: 14d}
//   acme: {email: ops@example.test, directory: https://ca/dir, domains: [example.test, "*.example.test"]}
//   cookies: {require: false, secret: 0123456789abcdef0123456789abcdef, rotate: 26h}  # DNS Cookies, on by
//   default
//   rrl: {rate: 20, slip: 2, exempt: [192.0.2.0/24]}   # response rate limiting of UDP answers
//
// Library users fill the same structs with designated initializers.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/describe/class.hpp>

#include "basalt/core/config.hpp"
#include "basalt/core/config_ip.hpp"
#include "basalt/core/log.hpp"
#include "basalt/service/acme_config.hpp"
#include "basalt/service/log_config.hpp"
#include "basalt/service/metrics_config.hpp"
#include "basalt/service/tls_config.hpp"

namespace basalt::dns {

struct ZoneConfig {
  // A zone file; its origin is `apex` if given, else the file's $ORIGIN, else its SOA owner.
  std::optional<std::string> file;
  // The zone's apex; alone, the zone has only a synthesised SOA and NS.
  std::optional<std::string> apex;
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(ZoneConfig, (), (file, apex))

struct TransferConfig {
  std::vector<core::Cidr> allow;       // who may AXFR (TCP)
  std::vector<core::Endpoint> notify;  // secondaries told of zone changes
};
BOOST_DESCRIBE_STRUCT(TransferConfig, (), (allow, notify))

// DNS over TCP: what one client may cost (docs/dns.md, "Limits").
struct TcpConfig {
  std::chrono::milliseconds idle_timeout{10'000};  // between queries, and for one whole query to arrive
  std::chrono::milliseconds write_timeout{2'000};  // a client taking no answer byte this long is closed
  std::size_t max_connections = 1024;              // per server; when full, an idle one makes room
  std::size_t max_connections_per_address = 64;    // from one client address
  std::size_t max_connections_per_network = 256;   // from one client network (see the prefixes)
  unsigned network_prefix_v4 = 24;                 // an IPv4 client network, in bits
  unsigned network_prefix_v6 = 56;                 // an IPv6 client network, in bits
  std::size_t max_pipelined = 64;                  // queries in flight on one connection
  std::size_t max_queued_bytes = 64 * 1024;        // answers queued for one client; over it, stop reading
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(TcpConfig, (),
                      (idle_timeout, write_timeout, max_connections, max_connections_per_address,
                       max_connections_per_network, network_prefix_v4, network_prefix_v6, max_pipelined,
                       max_queued_bytes))

// DNS over UDP.
struct UdpConfig {
  // SO_RCVBUF / SO_SNDBUF of each worker's socket, in bytes (the kernel
  // doubles what it is asked for); 0 keeps the system's default
  // (net.core.rmem_default / wmem_default), as Knot does. Small on purpose:
  // under a flood a long queue only delays the legitimate queries behind it
  // (bench/results/dns-abuse.md).
  std::size_t receive_buffer = 0;
  std::size_t send_buffer = 0;
  // Which worker's socket a datagram goes to: `flow`, the kernel's hash of
  // addresses and ports (as Knot and BIND), or `source_network`, the
  // client's /24 or /56, so that a flood from one network fills one
  // worker's queue and not the others' (core/source_steering.hpp).
  std::string steering = "flow";
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(UdpConfig, (), (receive_buffer, send_buffer, steering))

// One DNS-over-HTTPS listener: HTTP/2 and HTTP/1.1 over TLS (ALPN).
struct DohConfig {
  std::optional<core::Endpoint> listen;  // required; port 0 picks a free one
  std::string path = "/dns-query";
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(DohConfig, (), (listen, path))

// Online DNSSEC signing of one served zone (docs/dns.md, "DNSSEC").
struct DnssecConfig {
  std::string zone;                      // the apex of a zone this server serves
  std::optional<std::string> algorithm;  // ecdsa-p256 (default), ed25519, rsa-sha256 (or 13, 15, 8, ...)
  std::string key_dir;                   // default <state_dir>/keys; keys are generated there on first start
  std::chrono::milliseconds signature_validity{std::chrono::hours(24 * 14)};
  std::chrono::milliseconds signature_refresh{0};  // re-sign when less is left; 0: a quarter of the validity
  std::string keys = "combined";                   // what first start generates: combined, or ksk-zsk
  // Authenticated denial: nsec, or nsec3 (RFC 5155) with RFC 9276's
  // parameters by default: no more iterations, no salt (hex, "" or "-").
  std::string denial = "nsec";
  std::uint32_t nsec3_iterations = 0;  // at most 50
  std::string nsec3_salt;
  void validate(const core::config::Node& n) const;
  // The salt's octets, or nullopt if `salt` is not one.
  static std::optional<std::vector<std::uint8_t>> nsec3_salt_octets(std::string_view salt);
};
BOOST_DESCRIBE_STRUCT(DnssecConfig, (),
                      (zone, algorithm, key_dir, signature_validity, signature_refresh, keys, denial,
                       nsec3_iterations, nsec3_salt))

// DNS Cookies (RFC 7873; server cookies as in RFC 9018; docs/dns.md, "Cookies").
struct CookiesConfig {
  bool enabled = true;
  // 32 hex digits (16 octets), the same on every server of an anycast
  // address; absent: random at start and rotated every `rotate`.
  std::optional<std::string> secret;
  std::chrono::milliseconds rotate{std::chrono::hours(26)};
  // BADCOOKIE for UDP queries with a cookie but no valid server cookie.
  bool require = false;
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(CookiesConfig, (), (enabled, secret, rotate, require))

// Response rate limiting of UDP answers, as Knot's `rrl` module and BIND's
// `rate-limit` (docs/dns.md, "Response rate limiting"). Absent: off.
struct RrlConfig {
  std::uint32_t rate = 20;                     // answers and NODATA a second, per network and question
  std::optional<std::uint32_t> nxdomain_rate;  // NXDOMAIN a second, per network and zone; default: rate
  std::optional<std::uint32_t> error_rate;     // other errors a second, per network and zone; default: rate
  std::chrono::milliseconds burst{4'000};      // a bucket holds this much of its rate (Knot: 4s)
  unsigned slip = 2;                           // every slip-th limited answer is sent truncated; 0: none
  unsigned ipv4_prefix = 24;                   // a client network, in bits
  unsigned ipv6_prefix = 56;
  std::size_t table_size = 100'000;  // buckets (about 34 bytes each), allocated at start
  std::vector<core::Cidr> exempt;    // never limited
  bool log = true;                   // log when a network starts and stops being limited
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(RrlConfig, (),
                      (rate, nxdomain_rate, error_rate, burst, slip, ipv4_prefix, ipv6_prefix, table_size,
                       exempt, log))

struct ServerConfig {
  std::vector<core::Endpoint> listen;
  std::vector<ZoneConfig> zones;
  TransferConfig transfer;
  std::string state_dir;
  service::MetricsConfig metrics;  // read by dns::Daemon
  std::vector<DohConfig> doh;
  std::optional<service::TlsConfig> tls;  // the DoH certificate; absent: self-signed in state_dir
  service::LogConfig log;                 // read by the daemon's main()
  // Tuning, with the defaults a demanding operator expects.
  std::size_t workers = 0;                           // 0: one per core
  bool localhost = true;                             // RFC 6761 localhost answers
  std::uint16_t max_udp_payload = 1232;              // EDNS buffer size we offer
  std::chrono::milliseconds handler_timeout{2'000};  // a slower handler costs SERVFAIL
  std::size_t max_handler_queries = 1024;            // per worker awaiting handlers; more are dropped
  TcpConfig tcp;
  UdpConfig udp;
  std::optional<std::string> primary_nameserver;  // for synthesised SOA/NS
  std::optional<DnssecConfig> dnssec;
  std::optional<service::AcmeConfig> acme;  // read by dns::Daemon (docs/acme.md)
  CookiesConfig cookies;
  std::optional<RrlConfig> rrl;
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(ServerConfig, (),
                      (listen, zones, transfer, state_dir, metrics, doh, tls, log, workers, localhost,
                       max_udp_payload, handler_timeout, max_handler_queries, tcp, udp, primary_nameserver,
                       dnssec, acme, cookies, rrl))

// The 16 octets of a `cookies.secret` (32 hex digits), or nullopt.
std::optional<std::array<std::uint8_t, 16>> cookie_secret(std::string_view hex);

// The default state directory: /var/lib/basalt-dns as root, else
// $XDG_STATE_HOME/basalt-dns or ~/.local/state/basalt-dns.
std::string default_state_dir();

}  // namespace basalt::dns
