#include "certs/proxy_challenge_solver.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "certs/challenge_board.hpp"

namespace basalt::proxy {

ProxyChallengeSolver::ProxyChallengeSolver(ChallengeBoard& board, std::vector<std::string> preference,
                                           std::unique_ptr<acme::ChallengeSolver> dns01)
    : board_(board), preference_(std::move(preference)), dns01_(std::move(dns01)) {}

ProxyChallengeSolver::~ProxyChallengeSolver() = default;

std::string_view ProxyChallengeSolver::type() const {
  return dns01_ ? "http-01, tls-alpn-01 or dns-01" : "http-01 or tls-alpn-01";
}

std::string ProxyChallengeSolver::choose(const std::vector<std::string>& offered, bool wildcard) const {
  auto has = [&](std::string_view t) { return std::find(offered.begin(), offered.end(), t) != offered.end(); };
  if (wildcard) return dns01_ && has("dns-01") ? "dns-01" : "";
  for (const auto& t : preference_) {
    if (has(t)) return t;
  }
  // A name beside a wildcard in one order: dns-01 as well, when it is all
  // the CA offers that we answer.
  if (dns01_ && has("dns-01")) return "dns-01";
  return {};
}

boost::asio::awaitable<void> ProxyChallengeSolver::present(const acme::ChallengeTask& task) {
  if (task.type == "http-01") {
    board_.add_http01(task.domain, task.token, task.key_authorization);
    spdlog::info("ACME: answering http-01 for {} (token {})", task.domain, task.token);
  } else if (task.type == "tls-alpn-01") {
    board_.add_tls_alpn(task.domain, task.key_authorization);
    spdlog::info("ACME: answering tls-alpn-01 for {}", task.domain);
  } else if (task.type == "dns-01" && dns01_) {
    co_await dns01_->present(task);
  } else {
    throw std::runtime_error("no solver for the " + task.type + " challenge");
  }
  co_return;
}

boost::asio::awaitable<void> ProxyChallengeSolver::cleanup(const acme::ChallengeTask& task) {
  if (task.type == "http-01") {
    board_.remove_http01(task.token);
  } else if (task.type == "tls-alpn-01") {
    board_.remove_tls_alpn(task.domain);
  } else if (task.type == "dns-01" && dns01_) {
    co_await dns01_->cleanup(task);
  }
  co_return;
}

}  // namespace basalt::proxy
