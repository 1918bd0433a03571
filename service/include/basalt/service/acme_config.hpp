// The `acme` section every basalt daemon shares: the CA, the account and the
// names a daemon keeps certified (certificate_request.hpp turns it into
// orders; docs/service.md).
//
//   acme: {email: ops@example.test, directory: https://ca.example/dir,
//          domains: [example.test, "*.example.test"], renew_before: 30d}
//
// basalt-dns reads these snake_case names; the proxy derives a struct and
// maps the members to smartproxy's names (core::config::key_names), and
// validate() reports errors under whichever names the daemon uses.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/describe/class.hpp>

#include "basalt/core/config.hpp"

namespace basalt::service {

struct AcmeConfig {
  std::string email;                 // the account's contact (mailto:)
  std::string directory;             // the CA's directory URL (https)
  std::string directory_ca;          // PEM file or text the CA's HTTPS is checked against; "" = system store
  std::vector<std::string> domains;  // names to keep certified; "*.x" for a wildcard
  std::string cert_dir;              // default <state_dir>/certs
  std::optional<std::chrono::milliseconds> renew_before;  // default: when a third of the lifetime is left
  std::string key_type = "ecdsa-p256";                    // of the certificate: ecdsa-p256 or rsa-2048
  std::string account_key_type = "ecdsa-p256";            // of a new account key (ES256 or RS256)
  void validate(const core::config::Node& n) const;
};
BOOST_DESCRIBE_STRUCT(AcmeConfig, (),
                      (email, directory, directory_ca, domains, cert_dir, renew_before, key_type,
                       account_key_type))

}  // namespace basalt::service
