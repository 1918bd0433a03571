// Keeps the certificate for one set of domains: serves the stored one while
// it is good, orders a new one when none is held or renewal is due, and
// renews in the background until stopped. The piece a daemon uses (the DNS
// server's `acme:` config; later the proxy's `certificate: auto`).
//
//   acme::CertificateManager manager(io, {.domains = {"example.com"}, .cert_dir = dir,
//                                         .client = {.directory = url, .contact = {...}}},
//                                    solver, [&](const acme::StoredCertificate& c) { tls.set(c); });
//   manager.start();   // installs the stored certificate at once if it is valid
//
// Rules: a certificate that covers exactly the domains and is not due for
// renewal is never ordered again (the CA is not contacted at all); renewal
// is due at renewal_time() (a third of the lifetime left by default, with
// jitter); a failed order is retried after retry_delay() while the old
// certificate keeps being served. Every outcome is logged.
//
// Thread-safety: construct, start() and stop() on any thread; the work runs
// on `io`, which must outlive the manager; `install` is called on `io`.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "basalt/acme/certificate_store.hpp"
#include "basalt/acme/client.hpp"
#include "basalt/acme/order_gate.hpp"
#include "basalt/acme/renewal.hpp"
#include "basalt/acme/solver.hpp"

namespace boost::asio {
class io_context;
}

namespace basalt::acme {

struct ManagedCertificate {
  std::vector<std::string> domains;
  std::filesystem::path cert_dir;
  // How to reach the CA. An empty account_key means
  // default_account_key_path(cert_dir, client.directory).
  ClientOptions client;
  RenewalPolicy renewal;
  // Orders for the same names and key type that share this gate never run
  // twice at once (a management call while the background renewal runs).
  // Null: no sharing.
  std::shared_ptr<OrderGate> gate;
};

// <cert_dir>/accounts/<host>[_<port>]<path with '/' as '_'>/account.key: one
// account key per CA directory.
std::filesystem::path default_account_key_path(const std::filesystem::path& cert_dir,
                                               const std::string& directory_url);

// Lowercases and checks a domain list for an order: at least one name,
// each a host name or "*." and a host name, no duplicates. Throws
// std::invalid_argument naming the bad entry.
std::vector<std::string> normalize_domains(const std::vector<std::string>& domains);

struct Obtained {
  StoredCertificate certificate;
  bool issued = false;  // false: the stored one was still good, the CA was not contacted
};

// One shot: the stored certificate if it covers exactly `managed.domains`,
// has the requested key type and is not yet due for renewal (without
// jitter), else a new one ordered from the CA and saved (or the result of
// the order for the same certificate already in flight through
// `managed.gate`). Throws acme::Error (CA, local checks) or
// std::runtime_error (the store cannot be written).
boost::asio::awaitable<Obtained> obtain_or_load(const ManagedCertificate& managed, ChallengeSolver& solver,
                                                ProgressFn progress = {});

class CertificateManager {
 public:
  using InstallFn = std::function<void(const StoredCertificate&)>;

  CertificateManager(boost::asio::io_context& io, ManagedCertificate managed, ChallengeSolver& solver,
                     InstallFn install);
  ~CertificateManager();
  CertificateManager(const CertificateManager&) = delete;
  CertificateManager& operator=(const CertificateManager&) = delete;

  // Installs the stored certificate if it is unexpired (without contacting
  // the CA), then keeps it renewed. Returns the stored certificate installed, if any.
  std::optional<StoredCertificate> start();
  // Stops the background loop (an order in flight is cancelled).
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace basalt::acme
