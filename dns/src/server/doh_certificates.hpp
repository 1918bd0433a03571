// The certificate set of the DoH listeners: the configured (or self-signed)
// base certificate plus every ACME certificate this server obtained, newest
// first, so that SNI picks the right one and a client without SNI gets the
// newest ACME certificate. Thread-safe; each change is one atomic swap of the
// TLS context's set (new handshakes only).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "basalt/acme/certificate_store.hpp"
#include "basalt/core/tls.hpp"

namespace basalt::dns {

class DohCertificates {
 public:
  DohCertificates(core::TlsServerContext context, core::TlsCertificateSource base);

  // Replaces the base certificate. Throws std::invalid_argument with the
  // reason and changes nothing if it does not load.
  void set_base(const core::TlsCertificateSource& base);
  // Adds an ACME certificate, replacing an older one with the same first name.
  void install(const acme::StoredCertificate& certificate);

 private:
  void publish();  // under mutex_

  core::TlsServerContext context_;
  std::mutex mutex_;
  std::shared_ptr<const core::TlsCertifiedKey> base_;
  std::vector<std::pair<std::string, std::shared_ptr<const core::TlsCertifiedKey>>> acme_;  // newest first
};

}  // namespace basalt::dns
