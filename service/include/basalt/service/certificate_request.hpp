// How a certificate request (a management `retrieveCertificate`, a library
// call, the renewal of the `acme` section's names) becomes an ACME order:
// fields the request leaves empty come from the daemon's `acme` section, then
// from its state directory.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/acme/csr.hpp"
#include "basalt/service/acme_config.hpp"

namespace basalt::service {

// One request for a certificate; empty fields come from the `acme` section.
struct CertificateRequest {
  std::vector<std::string> domains;
  std::string email;
  std::string directory;
  std::string directory_ca;
  std::string cert_dir;
  std::optional<acme::KeyType> key_type;
};

// The order for `request`: names normalised, unset fields from `section`
// (may be null), the store in `section.cert_dir`, else <state_dir>/certs.
// Throws acme::Error naming what is missing (no directory URL, nowhere to
// store) or a bad name.
acme::ManagedCertificate make_order(const CertificateRequest& request, const AcmeConfig* section,
                                    std::string_view state_dir);

}  // namespace basalt::service
