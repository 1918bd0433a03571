// An ACME client (RFC 8555): account, order, challenges through a
// ChallengeSolver, finalize with a CSR, certificate chain download.
//
//   acme::Client client(io, {.directory = "https://acme-v02.api.letsencrypt.org/directory",
//                            .contact = {"mailto:ops@example.com"},
//                            .account_key = "/var/lib/basalt-dns/certs/accounts/.../account.key"});
//   acme::StoredCertificate cert = co_await client.obtain({"example.com", "*.example.com"}, solver);
//
// What it does for the CA's sake: one account per key (new-account with
// `jwk` is idempotent, every later request is signed with `kid`); nonces
// from every response are reused, and a `badNonce` refusal is retried with
// the fresh nonce it carries (up to max_bad_nonce_retries); 429 and 503 are
// retried after their Retry-After when that is at most max_retry_after, else
// the Error carries retry_after; polling honours Retry-After (else 1 s
// growing to 10 s); every request has request_timeout, validation and
// issuance have their own deadlines. All HTTPS goes through http::Client
// with certificate verification (system store or `directory_ca`).
//
// Thread-safety: a Client belongs to one io_context; use it from that
// thread. obtain() may run for several orders at once. Failures throw
// acme::Error (problem.hpp) naming the step; nothing is thrown from the
// constructor except std::invalid_argument for a bad directory URL or CA.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "basalt/acme/certificate_store.hpp"
#include "basalt/acme/csr.hpp"
#include "basalt/acme/solver.hpp"
#include "basalt/core/ip.hpp"

namespace boost::asio {
class io_context;
}

namespace basalt::acme {

struct ClientOptions {
  std::string directory;              // the directory URL (https)
  std::string directory_ca;           // PEM file or text trusted for the CA's HTTPS; "" = the system store
  std::vector<std::string> contact;   // "mailto:..." URLs for new-account
  std::filesystem::path account_key;  // created on first use (0600)
  KeyType account_key_type = KeyType::kEcdsaP256;  // of a key created here (an existing one is used as it is)
  KeyType key_type = KeyType::kEcdsaP256;          // the certificate's key
  std::chrono::seconds request_timeout{30};
  std::chrono::seconds validation_timeout{300};  // from answering the challenges to valid authorizations
  std::chrono::seconds issuance_timeout{300};    // from finalize to the certificate
  std::chrono::seconds max_retry_after{120};     // longer 429/503 waits fail instead
  unsigned max_bad_nonce_retries = 10;
  // Like curl --resolve: "host:port" -> address (tests, split-horizon setups).
  std::map<std::string, core::Endpoint> resolve;
};

// One step of an order, for logs and the management protocol's stream chunks.
struct Progress {
  std::string step;  // account, order, authorization, challenge, validation, finalize, certificate
  std::string message;
};
using ProgressFn = std::function<void(const Progress&)>;

struct ClientStats {
  std::uint64_t requests = 0;
  std::uint64_t bad_nonce_retries = 0;
  std::uint64_t rate_limit_waits = 0;
  std::uint64_t orders = 0;
};

class Client {
 public:
  Client(boost::asio::io_context& io, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Orders a certificate for `domains` (lowercase DNS names, "*.x" for a
  // wildcard; the first becomes the CN) and returns the chain with its new
  // private key (paths empty: the caller stores it). Every challenge is
  // presented through `solver` and cleaned up afterwards. Throws acme::Error.
  boost::asio::awaitable<StoredCertificate> obtain(std::vector<std::string> domains, ChallengeSolver& solver,
                                                   ProgressFn progress = {});

  ClientStats stats() const noexcept;
  const ClientOptions& options() const noexcept;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace basalt::acme
