#include "server/doh_certificates.hpp"

#include <algorithm>
#include <stdexcept>

namespace basalt::dns {
namespace {

std::shared_ptr<const core::TlsCertifiedKey> load(const core::TlsCertificateSource& source) {
  std::string error;
  auto key = core::TlsCertifiedKey::load(source, &error);
  if (!key) throw std::invalid_argument(error);
  return key;
}

}  // namespace

DohCertificates::DohCertificates(core::TlsServerContext context, core::TlsCertificateSource base)
    : context_(std::move(context)), base_(load(base)) {}

void DohCertificates::set_base(const core::TlsCertificateSource& base) {
  auto key = load(base);
  std::lock_guard lock(mutex_);
  base_ = std::move(key);
  publish();
}

void DohCertificates::install(const acme::StoredCertificate& certificate) {
  auto key = load({certificate.certificate_pem, certificate.private_key_pem});
  auto name =
      acme::CertificateStore::entry_name(certificate.domains.empty() ? "" : certificate.domains.front());
  std::lock_guard lock(mutex_);
  std::erase_if(acme_, [&](const auto& e) { return e.first == name; });
  acme_.insert(acme_.begin(), {name, std::move(key)});
  publish();
}

void DohCertificates::publish() {
  std::vector<std::shared_ptr<const core::TlsCertifiedKey>> set;
  for (const auto& [name, key] : acme_) set.push_back(key);
  set.push_back(base_);
  context_.set_certificates(std::move(set));
}

}  // namespace basalt::dns
