// Challenge solvers: what makes a CA's challenge answerable. The client asks
// a solver to present every challenge of an order before telling the CA to
// validate, and to clean each up afterwards, whatever the outcome.
//
// dns-01 (RFC 8555 §8.4) is solved by the DNS server itself
// (dns::Daemon's solver publishes the TXT record through the server's
// handler table); http-01 will be solved by the proxy.
//
// Thread-safety: present() and cleanup() are awaited on the client's
// io_context, one at a time per order. present() reports failure by throwing
// (the order is abandoned with that message); cleanup() should not throw.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace basalt::acme {

struct ChallengeTask {
  std::string type;    // "dns-01"
  std::string domain;  // the identifier, without "*." (a wildcard is validated at its base name)
  bool wildcard = false;
  std::string token;
  std::string key_authorization;  // token "." account key thumbprint

  // dns-01: "_acme-challenge.<domain>" and base64url(SHA-256(key_authorization)).
  std::string dns_record_name() const;
  std::string dns_record_value() const;
};

class ChallengeSolver {
 public:
  virtual ~ChallengeSolver() = default;
  // The challenge type this solver answers ("dns-01").
  virtual std::string_view type() const = 0;
  virtual boost::asio::awaitable<void> present(const ChallengeTask& task) = 0;
  virtual boost::asio::awaitable<void> cleanup(const ChallengeTask& task) = 0;
};

}  // namespace basalt::acme
