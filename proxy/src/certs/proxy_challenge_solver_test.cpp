#include "certs/proxy_challenge_solver.hpp"

#include <gtest/gtest.h>

#include "certs/challenge_board.hpp"
#include "certs/dns01_remote_solver.hpp"

namespace basalt::proxy {
namespace {

const std::vector<std::string> kAll = {"http-01", "dns-01", "tls-alpn-01"};

TEST(ProxyChallengeSolverTest, PlainNamesFollowThePreference) {
  ChallengeBoard board{std::filesystem::path()};
  ProxyChallengeSolver http_first(board, {"http-01", "tls-alpn-01"}, nullptr);
  EXPECT_EQ(http_first.choose(kAll, false), "http-01");
  EXPECT_EQ(http_first.choose({"tls-alpn-01", "dns-01"}, false), "tls-alpn-01");
  EXPECT_EQ(http_first.choose({"dns-01"}, false), "");  // no basalt-dns configured

  ProxyChallengeSolver alpn_only(board, {"tls-alpn-01"}, nullptr);
  EXPECT_EQ(alpn_only.choose(kAll, false), "tls-alpn-01");
  EXPECT_EQ(alpn_only.choose({"http-01"}, false), "");
}

TEST(ProxyChallengeSolverTest, WildcardsTakeDns01Only) {
  ChallengeBoard board{std::filesystem::path()};
  ProxyChallengeSolver without_dns(board, {"http-01"}, nullptr);
  EXPECT_EQ(without_dns.choose(kAll, true), "");
  ProxyChallengeSolver with_dns(board, {"http-01"}, std::make_unique<RemoteDns01Solver>("/nonexistent.sock"));
  EXPECT_EQ(with_dns.choose(kAll, true), "dns-01");
  EXPECT_EQ(with_dns.choose({"http-01"}, true), "");
  // A plain name whose CA offers only dns-01 goes through basalt-dns too.
  EXPECT_EQ(with_dns.choose({"dns-01"}, false), "dns-01");
}

}  // namespace
}  // namespace basalt::proxy
