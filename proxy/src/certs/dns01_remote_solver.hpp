// The proxy's dns-01 solver for names whose DNS a basalt-dns daemon serves:
// the challenge records are published by that daemon, asked over its
// management socket (addAcmeChallenge / removeAcmeChallenge, docs/dns.md).
// basalt-dns checks that it can answer for the name and withdraws a record
// nobody removes within an hour, so a proxy that dies mid-order leaves
// nothing behind for long.
//
// Blocking calls (each a few ms; at most 10 s when basalt-dns does not
// answer) made on the awaiting thread: use it from a thread that may block
// (the proxy's certificate thread), never from a worker. Each call opens its
// own connection, so one solver may serve several orders at once.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

#include "basalt/acme/solver.hpp"

namespace basalt::proxy {

// Solves dns-01 through a running basalt-dns: present() sends
// addAcmeChallenge over its management socket, cleanup() removeAcmeChallenge.
class RemoteDns01Solver : public acme::ChallengeSolver {
 public:
  explicit RemoteDns01Solver(std::string management_socket);
  std::string_view type() const override { return "dns-01"; }
  // Publishes the task's TXT record (a wildcard at its base name). Throws
  // std::runtime_error with basalt-dns's error text (or why it could not be
  // reached), prefixed "basalt-dns at <socket>: ".
  boost::asio::awaitable<void> present(const acme::ChallengeTask& task) override;
  // Withdraws it. Never throws: a failure is logged (basalt-dns removes the
  // record itself an hour after it was added).
  boost::asio::awaitable<void> cleanup(const acme::ChallengeTask& task) override;

 private:
  std::string socket_;
};

}  // namespace basalt::proxy
