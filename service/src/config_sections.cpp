// validate() of the shared config sections.
#include <boost/url/parse.hpp>

#include <algorithm>

#include "basalt/acme/problem.hpp"
#include "basalt/core/duration.hpp"
#include "basalt/service/acme_config.hpp"
#include "basalt/service/certificate_request.hpp"
#include "basalt/service/tls_config.hpp"

namespace basalt::service {

void TlsConfig::validate(const core::config::Node& n) const {
  if (cert.empty()) n.fail_at(n.key("cert"), "needs a PEM file or PEM text");
  if (key.empty()) n.fail_at(n.key("key"), "needs a PEM file or PEM text");
}

void AcmeConfig::validate(const core::config::Node& n) const {
  if (email.empty()) n.fail_at(n.key("email"), "needs the account's contact address");
  if (email.find('@') == std::string::npos || email.find_first_of(" \t\r\n,") != std::string::npos) {
    n.fail_at(n.key("email"), "\"" + email + "\" is not an e-mail address");
  }
  auto url = boost::urls::parse_absolute_uri(directory);
  if (!url || url->scheme() != "https" || url->host().empty()) {
    n.fail_at(n.key("directory"), "\"" + directory + "\" is not an https:// URL of an ACME directory");
  }
  if (domains.empty()) n.fail_at(n.key("domains"), "needs at least one name");
  std::vector<std::string> seen;  // normalised
  for (std::size_t i = 0; i < domains.size(); ++i) {
    const std::string key = n.key("domains") + "[" + std::to_string(i) + "]";
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
    n.fail_at(n.key("renew_before"),
              "\"" + core::format_duration(*renew_before) + "\" is not a positive duration");
  }
  if (!acme::parse_key_type(key_type)) {
    n.fail_at(n.key("key_type"), "\"" + key_type + "\" is not one of: " + std::string(acme::kKeyTypeHelp));
  }
  if (!acme::parse_key_type(account_key_type)) {
    n.fail_at(n.key("account_key_type"),
              "\"" + account_key_type + "\" is not one of: " + std::string(acme::kKeyTypeHelp));
  }
}

acme::ManagedCertificate make_order(const CertificateRequest& request, const AcmeConfig* section,
                                    std::string_view state_dir) {
  auto pick = [](const std::string& given, const std::string* fallback) {
    return !given.empty() || !fallback ? given : *fallback;
  };
  acme::ManagedCertificate m;
  try {
    m.domains = acme::normalize_domains(request.domains);
  } catch (const std::invalid_argument& e) {
    throw acme::Error("domains", e.what());
  }
  m.cert_dir = pick(request.cert_dir, section ? &section->cert_dir : nullptr);
  if (m.cert_dir.empty()) {
    if (state_dir.empty()) throw acme::Error("certificate store", "no cert_dir and no state_dir");
    m.cert_dir = std::filesystem::path(state_dir) / "certs";
  }
  m.client.directory = pick(request.directory, section ? &section->directory : nullptr);
  m.client.directory_ca = pick(request.directory_ca, section ? &section->directory_ca : nullptr);
  auto email = pick(request.email, section ? &section->email : nullptr);
  if (!email.empty()) m.client.contact = {"mailto:" + email};
  m.client.key_type = request.key_type ? *request.key_type
                      : section ? acme::parse_key_type(section->key_type).value_or(acme::KeyType::kEcdsaP256)
                                : acme::KeyType::kEcdsaP256;
  if (section) {
    m.client.account_key_type =
        acme::parse_key_type(section->account_key_type).value_or(acme::KeyType::kEcdsaP256);
    if (section->renew_before) {
      m.renewal.renew_before = std::chrono::duration_cast<std::chrono::seconds>(*section->renew_before);
    }
  }
  if (m.client.directory.empty()) {
    throw acme::Error("directory", "no ACME directory URL given (and no acme.directory in the config)");
  }
  return m;
}

}  // namespace basalt::service
