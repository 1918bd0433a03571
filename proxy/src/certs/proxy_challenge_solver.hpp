// How the proxy answers an ACME CA's challenges: http-01 and tls-alpn-01 on
// its own listeners (through the ChallengeBoard), dns-01 through a running
// basalt-dns (RemoteDns01Solver). A wildcard name can only be validated by
// dns-01; other names take the first type of `preference` the CA offers.
//
// Thread-safety: used by the certificate thread's orders, one call at a time
// per order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "basalt/acme/solver.hpp"

namespace basalt::proxy {

class ChallengeBoard;

class ProxyChallengeSolver : public acme::ChallengeSolver {
 public:
  // `dns01` may be null: then wildcard names cannot be validated.
  ProxyChallengeSolver(ChallengeBoard& board, std::vector<std::string> preference,
                       std::unique_ptr<acme::ChallengeSolver> dns01);
  ~ProxyChallengeSolver() override;

  std::string_view type() const override;
  std::string choose(const std::vector<std::string>& offered, bool wildcard) const override;
  boost::asio::awaitable<void> present(const acme::ChallengeTask& task) override;
  boost::asio::awaitable<void> cleanup(const acme::ChallengeTask& task) override;

 private:
  ChallengeBoard& board_;
  std::vector<std::string> preference_;
  std::unique_ptr<acme::ChallengeSolver> dns01_;
};

}  // namespace basalt::proxy
