#include "basalt/dns/server/server_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "basalt/core/duration.hpp"
#include "basalt/core/encoding.hpp"
#include "basalt/dns/dnssec/algorithm.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/name.hpp"
#include "basalt/dns/zone/zone_file.hpp"

namespace basalt::dns {
namespace {

ZoneBuildOptions build_options(const ServerConfig& config) {
  ZoneBuildOptions o;
  o.serial = static_cast<std::uint32_t>(std::time(nullptr));
  if (config.primary_nameserver) o.primary_nameserver = Name::from_text(*config.primary_nameserver);
  return o;
}

// `key: 100000 is not between 0 and 255` for a number outside [min, max].
void check_number(const core::config::Node& n, std::string_view key, std::uint64_t value, std::uint64_t min,
                  std::uint64_t max, std::string_view note = {}) {
  if (value < min || value > max) {
    n.fail_at(key, fmt::format("{} is not between {} and {}{}", value, min, max, note));
  }
}

// `key: "2m" is not between 1ms and 1m` for a duration outside [min, max].
void check_duration(const core::config::Node& n, std::string_view key, std::chrono::milliseconds value,
                    std::chrono::milliseconds min, std::chrono::milliseconds max) {
  if (value < min || value > max) {
    n.fail_at(key, fmt::format("\"{}\" is not between {} and {}", core::format_duration(value),
                               core::format_duration(min), core::format_duration(max)));
  }
}

}  // namespace

void ZoneConfig::validate(const core::config::Node& n) const {
  if (!file && !apex) n.fail("needs `file` (a zone file) or `apex` (a zone name)");
  if (apex) {
    std::string_view error;
    if (!Name::from_text(*apex, nullptr, &error))
      n.fail_at("apex", "\"" + *apex + "\" is not a domain name: " + std::string(error));
  }
}

void DohConfig::validate(const core::config::Node& n) const {
  if (!listen) n.fail("needs `listen` (ADDR:PORT)");
  if (path.empty() || path.front() != '/' || path.find_first_of("?# ") != std::string::npos) {
    n.fail_at("path", "\"" + path + "\" is not an absolute URL path (starts with /, no ?, # or spaces)");
  }
}

void DnssecConfig::validate(const core::config::Node& n) const {
  if (zone.empty()) n.fail_at("zone", "needs the apex of the zone to sign");
  std::string_view error;
  auto apex = Name::from_text(zone, nullptr, &error);
  if (!apex) n.fail_at("zone", "\"" + zone + "\" is not a domain name: " + std::string(error));
  if (apex->is_root()) n.fail_at("zone", "the root is not a zone this server can sign");
  if (algorithm && !parse_algorithm(*algorithm)) {
    n.fail_at("algorithm", "\"" + *algorithm + "\" is not one of: " + std::string(kAlgorithmHelp));
  }
  // At least an hour: shorter signatures expire in resolvers' caches. At
  // most BIND's limit for sig-validity-interval, well inside the 68 years
  // that RRSIG's 32-bit serial-number times allow (RFC 4034 §3.1.5).
  check_duration(n, "signature_validity", signature_validity, std::chrono::hours(1),
                 std::chrono::hours(24 * 3660));
  if (signature_refresh.count() < 0 || signature_refresh >= signature_validity) {
    n.fail_at("signature_refresh",
              "\"" + core::format_duration(signature_refresh) + "\" must be less than signature_validity");
  }
  if (keys != "combined" && keys != "ksk-zsk") {
    n.fail_at("keys", "\"" + keys + "\" is not one of: combined, ksk-zsk");
  }
  if (denial != "nsec" && denial != "nsec3")
    n.fail_at("denial", "\"" + denial + "\" is not one of: nsec, nsec3");
  // RFC 9276 §3.1 asks for 0; validators may call more than 100 insecure
  // (§3.2), and BIND 9.18 does above 150: 50 leaves them room.
  check_number(n, "nsec3_iterations", nsec3_iterations, 0, 50);
  if (!nsec3_salt_octets(nsec3_salt)) {
    n.fail_at("nsec3_salt",
              "\"" + nsec3_salt + "\" is not a salt: up to 255 octets in hex, or \"-\" for none");
  }
}

std::optional<std::vector<std::uint8_t>> DnssecConfig::nsec3_salt_octets(std::string_view salt) {
  if (salt.empty() || salt == "-") return std::vector<std::uint8_t>{};
  auto octets = core::hex_decode(salt);
  if (!octets || octets->size() > 255) return std::nullopt;
  return octets;
}

void TcpConfig::validate(const core::config::Node& n) const {
  using std::chrono::milliseconds;
  // A timer at now + a huge duration overflows the clock and fires at once;
  // an idle or stalled connection holds one of max_connections.
  check_duration(n, "idle_timeout", idle_timeout, milliseconds(1), std::chrono::hours(1));
  check_duration(n, "write_timeout", write_timeout, milliseconds(1), std::chrono::hours(1));
  // fs.nr_open's default: no process can hold more descriptors. (Shares
  // larger than max_connections are allowed: the smaller limit applies.)
  check_number(n, "max_connections", max_connections, 1, 1'048'576);
  check_number(n, "max_connections_per_address", max_connections_per_address, 1, 1'048'576);
  check_number(n, "max_connections_per_network", max_connections_per_network, 1, 1'048'576);
  check_number(n, "network_prefix_v4", network_prefix_v4, 8, 32);
  check_number(n, "network_prefix_v6", network_prefix_v6, 16, 128);
  // DNS message IDs are 16 bits: more in flight on one connection cannot be told apart.
  check_number(n, "max_pipelined", max_pipelined, 1, 65535);
  check_number(n, "max_queued_bytes", max_queued_bytes, 1024, 64 << 20);
}

void UdpConfig::validate(const core::config::Node& n) const {
  // The kernel caps what it grants at net.core.rmem_max / wmem_max (root may
  // exceed them): 4 KiB to 64 MiB is what can mean anything; 0 is the default.
  if (receive_buffer != 0)
    check_number(n, "receive_buffer", receive_buffer, 4096, 64 << 20, " (or 0: the system's default)");
  if (send_buffer != 0)
    check_number(n, "send_buffer", send_buffer, 4096, 64 << 20, " (or 0: the system's default)");
  if (steering != "flow" && steering != "source_network")
    n.fail_at("steering", "\"" + steering + "\" is not one of: flow, source_network");
}

void CookiesConfig::validate(const core::config::Node& n) const {
  if (secret && !cookie_secret(*secret)) {
    n.fail_at("secret", "\"" + *secret + "\" is not 32 hex digits (a 16-octet secret)");
  }
  // RFC 7873 §7.1: no more often than the life of a cookie, at least every 36 days (as Knot).
  check_duration(n, "rotate", rotate, std::chrono::hours(1), std::chrono::hours(24 * 36));
}

std::optional<std::array<std::uint8_t, 16>> cookie_secret(std::string_view hex) {
  std::array<std::uint8_t, 16> out{};
  if (hex.size() != 32) return std::nullopt;
  auto bytes = core::hex_decode(hex);
  if (!bytes || bytes->size() != out.size()) return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

void RrlConfig::validate(const core::config::Node& n) const {
  // 0 (not limited) up to far more than one network's legitimate traffic.
  check_number(n, "rate", rate, 0, 1'000'000, " (0: not limited)");
  if (nxdomain_rate) check_number(n, "nxdomain_rate", *nxdomain_rate, 0, 1'000'000, " (0: not limited)");
  if (error_rate) check_number(n, "error_rate", *error_rate, 0, 1'000'000, " (0: not limited)");
  check_duration(n, "burst", burst, std::chrono::seconds(1), std::chrono::hours(1));
  check_number(n, "slip", slip, 0, 10, " (0: drop every limited answer)");  // BIND's range
  check_number(n, "ipv4_prefix", ipv4_prefix, 8, 32);
  check_number(n, "ipv6_prefix", ipv6_prefix, 16, 128);
  check_number(n, "table_size", table_size, 4, 64 << 20);
}

void ServerConfig::validate(const core::config::Node& n) const {
  // At most 255, as Knot's udp-workers/tcp-workers/background-workers: each
  // worker has its own io_context, sockets and epoll descriptor, and far more
  // workers than cores only adds contention.
  check_number(n, "workers", workers, 0, 255, " (0: one per core)");
  check_number(n, "max_udp_payload", max_udp_payload, 512, 4096);
  // A timer at now + a huge duration overflows the clock and fires at once;
  // the bounds are also what makes sense: a resolver gives up on a query in
  // seconds, and an idle connection holds one of tcp.max_connections.
  check_duration(n, "handler_timeout", handler_timeout, std::chrono::milliseconds(1),
                 std::chrono::minutes(1));
  if (primary_nameserver) {
    std::string_view error;
    if (!Name::from_text(*primary_nameserver, nullptr, &error)) {
      n.fail_at("primary_nameserver",
                "\"" + *primary_nameserver + "\" is not a domain name: " + std::string(error));
    }
  }
  check_number(n, "max_handler_queries", max_handler_queries, 1, 1'000'000);
  for (std::size_t i = 0; i < doh.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (doh[i].listen && doh[j].listen && doh[i].listen->port != 0 && *doh[i].listen == *doh[j].listen) {
        n.fail_at("doh[" + std::to_string(i) + "].listen",
                  "\"" + doh[i].listen->to_string() + "\" is listed twice");
      }
    }
  }
}

std::vector<Zone> load_zones(const ServerConfig& config) {
  std::vector<Zone> zones;
  auto options = build_options(config);
  for (std::size_t i = 0; i < config.zones.size(); ++i) {
    const auto& zc = config.zones[i];
    std::optional<Name> apex;
    if (zc.apex) {
      apex = Name::from_text(*zc.apex);
      if (!apex)
        throw core::config::Error(fmt::format("zones[{}].apex", i),
                                  "\"" + *zc.apex + "\" is not a domain name");
    }
    if (zc.file) {
      zones.push_back(load_zone_file(*zc.file, apex, options));
    } else {
      zones.push_back(Zone::build(*apex, {}, options));
    }
    for (std::size_t j = 0; j + 1 < zones.size(); ++j) {
      if (zones[j].apex() == zones.back().apex()) {
        throw core::config::Error(fmt::format("zones[{}]", i),
                                  fmt::format("zone {} is declared twice", zones.back().apex().to_string()));
      }
    }
  }
  return zones;
}

std::string default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/basalt-dns";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::string(xdg) + "/basalt-dns";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/state/basalt-dns";
}

}  // namespace basalt::dns
