// The certificates of a daemon's TLS listeners (DoH now, the proxy next):
// one configured certificate (PEM files or inline PEM, replaceable at run
// time by `updateCerts`), or else a self-signed one generated into the state
// directory; plus every certificate obtained from an ACME CA, newest first.
// A handshake picks by SNI (exact name, then wildcard, across all of them);
// without a match it gets the newest ACME certificate, else the configured
// or self-signed one. Each change is one atomic swap of the TLS context's
// set: new handshakes see it, open connections keep theirs.
//
//   service::CertificateSet certs({.tls = config.tls, .state_dir = dir, .alpn = http::alpn_protocols()});
//   http.listen({.endpoint = ep, .tls = certs.context()});
//   certs.manage(io, order, solver);               // background ACME renewal
//   co_await certs.obtain(order, solver, progress); // one request (retrieveCertificate)
//
// ACME orders for the same names and key type go through one acme::OrderGate:
// a request while the renewal (or another request) orders them waits for that
// order and shares its result.
//
// Thread-safety: every member may be called from any thread. Failures:
// construction and context() throw core::config::Error naming `tls` or
// `state_dir`; set_static() throws std::invalid_argument and changes nothing;
// obtain() throws acme::Error.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/acme/certificate_manager.hpp"
#include "basalt/core/ip.hpp"
#include "basalt/core/tls.hpp"
#include "basalt/service/tls_config.hpp"

namespace boost::asio {
class io_context;
}

namespace basalt::service {

struct CertificateSetOptions {
  std::optional<TlsConfig> tls;  // the configured certificate; absent: self-signed
  std::string state_dir;         // where the self-signed pair is kept
  // The self-signed pair's files: <state_dir>/<name>-cert.pem and <name>-key.pem.
  std::string self_signed_name = "tls";
  // IP subjectAltNames of the self-signed certificate besides 127.0.0.1 and ::1
  // (the non-loopback addresses the daemon listens on).
  std::vector<core::IpAddress> self_signed_addresses;
  std::vector<std::string> alpn;  // offered by the TLS context, e.g. http::alpn_protocols()
};

enum class CertificateOrigin { kStatic, kAcme, kSelfSigned };
// "static", "acme", "self-signed"
std::string_view to_string(CertificateOrigin origin) noexcept;

// One certificate of the set, for `getCertificates` and logs.
struct CertificateStatus {
  std::vector<std::string> names;  // DNS names (lowercase, "*.x" for wildcards)
  std::chrono::system_clock::time_point not_before, not_after;
  CertificateOrigin source;
  std::string key_type;  // ecdsa-p256, rsa-2048 or other
  bool is_default;       // what a handshake without a matching SNI gets
};

class CertificateSet {
 public:
  // Loads the configured certificate if there is one. The self-signed one is
  // made (or loaded from the state directory) when context() is first asked.
  explicit CertificateSet(CertificateSetOptions options);
  ~CertificateSet();
  CertificateSet(const CertificateSet&) = delete;
  CertificateSet& operator=(const CertificateSet&) = delete;

  // The TLS context to listen with; the same handle for the set's lifetime.
  core::TlsServerContext context();

  // Replaces the configured certificate (updateCerts).
  void set_static(const core::TlsCertificateSource& source);
  // Adds an ACME certificate, replacing the one stored under the same first name.
  void install(const acme::StoredCertificate& certificate);

  // Every certificate the set serves now, the default first.
  std::vector<CertificateStatus> status() const;

  // One ACME request: the stored certificate when it still serves (same
  // names, key type, not due), else an order (shared with one in flight).
  // Installs the result.
  boost::asio::awaitable<acme::Obtained> obtain(acme::ManagedCertificate order, acme::ChallengeSolver& solver,
                                                acme::ProgressFn progress = {});
  // Keeps `order` renewed in the background on `io` (which must outlive
  // stop()); installs the stored certificate at once when it is valid and
  // returns it.
  std::optional<acme::StoredCertificate> manage(boost::asio::io_context& io, acme::ManagedCertificate order,
                                                acme::ChallengeSolver& solver);
  // Stops every background renewal. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::service
