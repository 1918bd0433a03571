#include "basalt/dns/server/server_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include <fmt/format.h>

#include "basalt/core/duration.hpp"
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
  // At least an hour: shorter signatures expire in resolvers' caches.
  if (signature_validity < std::chrono::hours(1)) {
    n.fail_at("signature_validity",
              "\"" + core::format_duration(signature_validity) + "\" is shorter than 1h");
  }
  if (signature_refresh.count() < 0 || signature_refresh >= signature_validity) {
    n.fail_at("signature_refresh",
              "\"" + core::format_duration(signature_refresh) + "\" must be less than signature_validity");
  }
  if (keys != "combined" && keys != "ksk-zsk") {
    n.fail_at("keys", "\"" + keys + "\" is not one of: combined, ksk-zsk");
  }
}

namespace {
// "max_pipelined: 0 is not between 1 and 1024" unless min <= value <= max.
template <typename T>
void check_range(const core::config::Node& n, const char* key, T value, T min, T max) {
  if (value < min || value > max) n.fail_at(key, fmt::format("{} is not between {} and {}", value, min, max));
}

void check_duration(const core::config::Node& n, const char* key, std::chrono::milliseconds value,
                    std::chrono::milliseconds min, std::chrono::milliseconds max) {
  if (value < min || value > max) {
    n.fail_at(key, fmt::format("\"{}\" is not between {} and {}", core::format_duration(value),
                               core::format_duration(min), core::format_duration(max)));
  }
}
}  // namespace

void TcpConfig::validate(const core::config::Node& n) const {
  using std::chrono::milliseconds;
  check_duration(n, "idle_timeout", idle_timeout, milliseconds(100), std::chrono::hours(1));
  check_duration(n, "write_timeout", write_timeout, milliseconds(100), std::chrono::hours(1));
  check_range<std::size_t>(n, "max_connections", max_connections, 1, 1'000'000);
  // (Larger than max_connections is allowed: the smaller limit applies.)
  check_range<std::size_t>(n, "max_connections_per_address", max_connections_per_address, 1, 1'000'000);
  check_range<std::size_t>(n, "max_connections_per_network", max_connections_per_network, 1, 1'000'000);
  check_range(n, "network_prefix_v4", network_prefix_v4, 8, 32);
  check_range(n, "network_prefix_v6", network_prefix_v6, 16, 128);
  check_range<std::size_t>(n, "max_pipelined", max_pipelined, 1, 1024);
  check_range<std::size_t>(n, "max_queued_bytes", max_queued_bytes, 1024, 64 << 20);
}

void UdpConfig::validate(const core::config::Node& n) const {
  // The kernel caps what it grants at net.core.rmem_max / wmem_max (as root it
  // is allowed more): 4 KiB to 64 MiB is what can mean anything.
  check_range<std::size_t>(n, "receive_buffer", receive_buffer, 4096, 64 << 20);
  check_range<std::size_t>(n, "send_buffer", send_buffer, 4096, 64 << 20);
}

void ServerConfig::validate(const core::config::Node& n) const {
  if (max_udp_payload < 512 || max_udp_payload > 4096) {
    n.fail_at("max_udp_payload", std::to_string(max_udp_payload) + " is not between 512 and 4096");
  }
  if (handler_timeout.count() <= 0) n.fail_at("handler_timeout", "must be positive");
  check_range<std::size_t>(n, "max_handler_queries", max_handler_queries, 1, 1'000'000);
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
