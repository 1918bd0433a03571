#include "basalt/dns/server/server_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <boost/url/parse.hpp>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/acme/csr.hpp"
#include "basalt/core/duration.hpp"
#include "basalt/dns/dnssec/algorithm.hpp"
#include "basalt/dns/wire/name.hpp"

namespace basalt::dns {

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

void TlsConfig::validate(const core::config::Node& n) const {
  if (cert.empty()) n.fail_at("cert", "needs a PEM file or PEM text");
  if (key.empty()) n.fail_at("key", "needs a PEM file or PEM text");
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

void AcmeConfig::validate(const core::config::Node& n) const {
  if (email.empty()) n.fail_at("email", "needs the account's contact address");
  if (email.find('@') == std::string::npos || email.find_first_of(" \t\r\n,") != std::string::npos) {
    n.fail_at("email", "\"" + email + "\" is not an e-mail address");
  }
  auto url = boost::urls::parse_absolute_uri(directory);
  if (!url || url->scheme() != "https" || url->host().empty()) {
    n.fail_at("directory", "\"" + directory + "\" is not an https:// URL of an ACME directory");
  }
  if (domains.empty()) n.fail_at("domains", "needs at least one name");
  std::vector<std::string> seen;  // normalised
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const std::string key = "domains[" + std::to_string(i) + "]";
    try {
      seen.push_back(acme::normalize_domains({domains[i]}).front());
    } catch (const std::invalid_argument& e) {
      n.fail_at(key, e.what());
    }
    if (std::find(seen.begin(), seen.end() - 1, seen.back()) != seen.end() - 1) {
      n.fail_at(key, "\"" + domains[i] + "\" is listed twice");
    }
  }
  if (renew_before && renew_before->count() <= 0) {
    n.fail_at("renew_before", "\"" + core::format_duration(*renew_before) + "\" is not a positive duration");
  }
  if (!acme::parse_key_type(key_type)) {
    n.fail_at("key_type", "\"" + key_type + "\" is not one of: " + std::string(acme::kKeyTypeHelp));
  }
  if (!acme::parse_key_type(account_key_type)) {
    n.fail_at("account_key_type",
              "\"" + account_key_type + "\" is not one of: " + std::string(acme::kKeyTypeHelp));
  }
}

void ServerConfig::validate(const core::config::Node& n) const {
  if (max_udp_payload < 512 || max_udp_payload > 4096) {
    n.fail_at("max_udp_payload", std::to_string(max_udp_payload) + " is not between 512 and 4096");
  }
  if (tcp.max_pipelined == 0) n.fail_at("tcp.max_pipelined", "0 is not at least 1");
  if (handler_timeout.count() <= 0) n.fail_at("handler_timeout", "must be positive");
  for (std::size_t i = 0; i < doh.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (doh[i].listen && doh[j].listen && doh[i].listen->port != 0 && *doh[i].listen == *doh[j].listen) {
        n.fail_at("doh[" + std::to_string(i) + "].listen",
                  "\"" + doh[i].listen->to_string() + "\" is listed twice");
      }
    }
  }
}

std::string default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/basalt-dns";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return std::string(xdg) + "/basalt-dns";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/state/basalt-dns";
}

}  // namespace basalt::dns
