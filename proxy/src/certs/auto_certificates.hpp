// The certificates of `certificate: auto` routes: one per distinct domain
// list, obtained from the ACME CA (or, with `certProvision: driver`, from the
// management driver first), kept in the certificate store so that a restart
// serves it without asking the CA, renewed before expiry, and installed into
// every TLS context of the routes that use it (new handshakes see it at once,
// open connections keep theirs). Several proxies sharing one store order a
// name once: the order runs under a lock file in the store, and the others
// pick the result up from the store. docs/proxy.md, "Certificates".
//
//   AutoCertificates certs({.acme = options.acme, .store = dir});
//   auto cert = certs.bind({"a.example"}, "site", generation, context);  // while building a RouteSet
//   certs.commit(generation);                                          // after publishing it
//   certs.start();                                                     // the certificate thread
//
// Thread-safety: every member may be called from any thread. Orders,
// renewals and driver requests run on the object's own thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "basalt/core/tls.hpp"
#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

class ChallengeBoard;

// The readiness of one auto certificate, as a connection sees it.
class AutoCertificate {
 public:
  virtual ~AutoCertificate() = default;
  // False until a certificate for the names is installed (first order pending or failed).
  virtual bool ready() const noexcept = 0;
  // "pending" or "error: <why>", for the log line of a refused handshake.
  virtual std::string why_not_ready() const = 0;
};

class AutoCertificates {
 public:
  using EventSink = std::function<void(std::string_view event, boost::json::value data)>;
  struct Options {
    AcmeOptions acme;
    std::filesystem::path store;  // the certificate store folder (resolved)
  };
  explicit AutoCertificates(Options options);
  ~AutoCertificates();
  AutoCertificates(const AutoCertificates&) = delete;
  AutoCertificates& operator=(const AutoCertificates&) = delete;

  // The certificate for `domains` (a route's match.domains), installed into
  // `context` now and whenever it changes, for routes published as
  // `generation`. A certificate already held (or in the store) is installed
  // at once.
  std::shared_ptr<const AutoCertificate> bind(const std::vector<std::string>& domains,
                                              const std::string& route_name, std::uint64_t generation,
                                              core::TlsServerContext context);
  // Routes of `generation` are published: contexts of older ones are
  // released, certificates no route uses any more stop renewing, new ones
  // start (once start() has run).
  void commit(std::uint64_t generation);
  // A TLS context for a route whose certificate is not there yet: holds a
  // throwaway self-signed certificate that is never served.
  const core::TlsCertificateSource& placeholder() const;

  // Starts the certificate thread: every bound certificate is checked, and
  // ordered when none is held or renewal is due. Idempotent.
  void start();
  // Stops the thread (orders in flight are abandoned). Idempotent.
  void stop();

  // Certificate events (certificateIssued, certificateFailed,
  // certificateRequest); the sink is called on the certificate thread.
  void set_event_sink(EventSink sink);

  // ICertStatus of the certificate bound for `route_name` (nullopt: the
  // route has no auto certificate).
  std::optional<boost::json::object> status(std::string_view route_name) const;
  // Orders now unless a good certificate is held (`force`: orders anyway)
  // and returns the status afterwards; an order already running for it is
  // waited for instead. Throws std::runtime_error with the CA's reason when
  // the order fails, or std::invalid_argument for a route without `auto`.
  boost::asio::awaitable<boost::json::object> provision(std::string route_name, bool force);
  // provideCertificate: the driver's answer for `domain` — a certificate
  // (PEM chain and key) or, with `use_acme`, "order it from the CA". Throws
  // std::invalid_argument (bad PEM, no such domain) and changes nothing then.
  void provide(const std::string& domain, const std::string& cert, const std::string& key, bool use_acme);

  ChallengeBoard& board() noexcept;
  const AcmeOptions& acme() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace basalt::proxy
