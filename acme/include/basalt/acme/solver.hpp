// Challenge solvers: what makes a CA's challenge answerable. The client asks
// a solver to present every challenge of an order before telling the CA to
// validate, and to clean each up afterwards, whatever the outcome.
//
// dns-01 (RFC 8555 §8.4) is solved by the DNS server itself
// (dns::Daemon's solver publishes the TXT record through the server's
// handler table); the proxy answers http-01, tls-alpn-01 (RFC 8737) and,
// through a basalt-dns, dns-01, picking one per authorization (choose()).
//
// Thread-safety: present() and cleanup() are awaited on the client's
// io_context, one at a time per order. present() reports failure by throwing
// (the order is abandoned with that message); cleanup() should not throw.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace basalt::acme {

struct ChallengeTask {
  std::string type;    // "dns-01", "http-01", "tls-alpn-01"
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
  // The challenge type to answer for one authorization, among the types the
  // CA offers for it ("" when none will do). The default: type() if offered.
  virtual std::string choose(const std::vector<std::string>& offered, bool wildcard) const;
  virtual boost::asio::awaitable<void> present(const ChallengeTask& task) = 0;
  virtual boost::asio::awaitable<void> cleanup(const ChallengeTask& task) = 0;
};

}  // namespace basalt::acme
