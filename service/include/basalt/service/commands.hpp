// The management commands every basalt daemon answers, written once:
//
//   stop                                  the daemon's own stop (drain, exit)
//   getMetrics                            the module's counters as JSON
//   getCertificates                       {certificates: [{domains, notBefore, notAfter,
//                                          source, keyType, default}]}
//   updateCerts {httpsCert, httpsKey}     replaces the configured certificate (PEM text or file)
//   retrieveCertificate {domains, email?, directory?, directoryCa?, keyType?}
//                                         an ACME certificate; each step is a stream chunk
//                                         {step, message}; the result {domains, issued,
//                                         notBefore, notAfter, certificatePath, keyPath, certificate}
//
// A daemon fills ServiceCommands with its own hooks; a command whose hook is
// empty is not registered. Bad parameters are core::config::Error naming the
// parameter; a failed command changes nothing.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <functional>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/service/certificate_request.hpp"
#include "basalt/service/certificate_set.hpp"

namespace basalt::core::management {
class Registry;
}

namespace basalt::service {

struct ServiceCommands {
  std::function<void()> stop;
  std::function<boost::json::object()> metrics;
  // getCertificates and updateCerts; null: an empty list, and updateCerts
  // fails because nothing here uses a certificate.
  CertificateSet* certificates = nullptr;
  // retrieveCertificate: the daemon's checks, solver and order (typically
  // CertificateSet::obtain). Called on the management thread.
  std::function<boost::asio::awaitable<acme::Obtained>(CertificateRequest, acme::ProgressFn)> retrieve;
};

void add_service_commands(core::management::Registry& registry, ServiceCommands commands);

// The parameters of retrieveCertificate; throws core::config::Error naming a bad one.
CertificateRequest parse_certificate_request(const boost::json::object& params);
// The result object of retrieveCertificate.
boost::json::object certificate_result(const acme::Obtained& obtained);
// The result object of getCertificates.
boost::json::object certificates_json(const std::vector<CertificateStatus>& status);
// updateCerts on `set`: validates both fields, then swaps.
void update_certs(CertificateSet* set, const boost::json::object& params);

}  // namespace basalt::service
