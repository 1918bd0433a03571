#include "balance/backend_pool.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "balance/health_registry.hpp"

namespace basalt::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = BackendPool::Clock;

Target target(std::vector<std::string> hosts, std::uint16_t port, std::uint32_t weight = 1) {
  return Target{.host = std::move(hosts), .preserve_port = port == 0, .port = port, .weight = weight};
}

RouteAction action(std::vector<Target> targets, LoadBalancing balancing = {}) {
  RouteAction a;
  a.targets = std::move(targets);
  a.load_balancing = balancing;
  return a;
}

LoadBalancing with(BalanceAlgorithm algorithm) {
  LoadBalancing b;
  b.algorithm = algorithm;
  return b;
}

core::IpAddress client(std::uint32_t n) {
  return core::IpAddress::v4(0x0a000000u + n);  // 10.x.y.z
}

std::map<std::string, int> count_picks(const BackendPool& pool, int picks) {
  std::map<std::string, int> counts;
  for (int n = 0; n < picks; ++n) {
    auto i = pool.pick(client(1));
    counts[i ? pool.backend(*i).host : "none"]++;
  }
  return counts;
}

TEST(BackendPool, OneBackendPerTargetHostWithTheTargetsPortAndWeight) {
  HealthRegistry registry;
  auto pool = BackendPool::build("web", action({target({"10.0.0.1", "10.0.0.2"}, 8080, 3), target({"b"}, 0)}),
                                 registry);
  ASSERT_EQ(pool->size(), 3u);
  EXPECT_EQ(pool->backend(0).host, "10.0.0.1");
  EXPECT_EQ(pool->backend(1).port, 8080);
  EXPECT_EQ(pool->backend(1).weight, 3u);
  EXPECT_EQ(pool->backend(2).port, 0);  // preserve: the caller fills it in
  EXPECT_EQ(pool->backend(0).key, "web|10.0.0.1:8080");
  EXPECT_FALSE(pool->has_active_checks());
  EXPECT_EQ(registry.size(), 3u);
}

TEST(BackendPool, WeightedRoundRobinFollowsTheWeights) {
  HealthRegistry registry;
  auto pool = BackendPool::build("r", action({target({"a"}, 80, 1), target({"b"}, 80, 3)}), registry);
  auto counts = count_picks(*pool, 1000);
  EXPECT_NEAR(counts["a"], 250, 5);
  EXPECT_NEAR(counts["b"], 750, 5);

  // Turns are spread out: the weight-1 backend never gets two in a row.
  std::optional<std::size_t> last;
  for (int n = 0; n < 100; ++n) {
    auto i = pool->pick(client(1));
    ASSERT_TRUE(i);
    if (pool->backend(*i).host == "a") {
      EXPECT_NE(last, i);
    }
    last = i;
  }
}

TEST(BackendPool, RoundRobinSharesTheLoadOfAnEjectedBackendEvenly) {
  HealthRegistry registry;
  LoadBalancing b;
  b.passive = {.consecutive_failures = 1, .base_ejection_time = 60'000ms, .max_ejection_time = 60'000ms};
  auto pool = BackendPool::build("r", action({target({"a", "b", "c"}, 80)}, b), registry);
  pool->report_failure(0);
  auto counts = count_picks(*pool, 3000);
  EXPECT_EQ(counts["a"], 0);
  EXPECT_NEAR(counts["b"], 1500, 30);
  EXPECT_NEAR(counts["c"], 1500, 30);
}

TEST(BackendPool, LeastConnectionsPrefersTheIdleBackend) {
  HealthRegistry registry;
  auto pool = BackendPool::build(
      "r", action({target({"a", "b"}, 80)}, with(BalanceAlgorithm::kLeastConnections)), registry);
  auto busy = pool->acquire(0);
  ASSERT_TRUE(busy);
  for (int n = 0; n < 10; ++n) EXPECT_EQ(pool->pick(client(1)), 1u);
  auto second = pool->acquire(1);
  auto third = pool->acquire(1);
  EXPECT_EQ(pool->pick(client(1)), 0u);  // now a has fewer
  busy->release();
  second->release();
  third->release();
  // All idle: ties go round-robin.
  auto counts = count_picks(*pool, 100);
  EXPECT_EQ(counts["a"], 50);
  EXPECT_EQ(counts["b"], 50);
}

TEST(BackendPool, LeastConnectionsCountsInFlightPerUnitOfWeight) {
  HealthRegistry registry;
  auto pool = BackendPool::build(
      "r", action({target({"a"}, 80, 3), target({"b"}, 80, 1)}, with(BalanceAlgorithm::kLeastConnections)),
      registry);
  std::vector<BackendPool::Lease> leases;
  for (int n = 0; n < 400; ++n) {
    auto i = pool->pick(client(1));
    ASSERT_TRUE(i);
    leases.push_back(std::move(*pool->acquire(*i)));
  }
  EXPECT_EQ(pool->backend(0).state().in_flight(), 300u);
  EXPECT_EQ(pool->backend(1).state().in_flight(), 100u);
  leases.clear();
  EXPECT_EQ(pool->backend(0).state().in_flight(), 0u);
}

TEST(BackendPool, IpHashKeepsAClientOnItsBackendAcrossRebuilds) {
  HealthRegistry registry;
  auto config = action({target({"a", "b", "c", "d"}, 80)}, with(BalanceAlgorithm::kIpHash));
  auto pool = BackendPool::build("r", config, registry);
  auto again = BackendPool::build("r", config, registry);
  std::set<std::size_t> used;
  for (std::uint32_t c = 0; c < 200; ++c) {
    auto first = pool->pick(client(c));
    ASSERT_TRUE(first);
    EXPECT_EQ(pool->pick(client(c)), first);
    EXPECT_EQ(again->pick(client(c)), first);
    used.insert(*first);
  }
  EXPECT_EQ(used.size(), 4u);
  // An IPv4 client seen through a dual-stack socket is the same client.
  EXPECT_EQ(pool->pick(client(7).to_v6()), pool->pick(client(7)));
}

TEST(BackendPool, IpHashMovesOnlyTheNewBackendsShareWhenOneIsAdded) {
  HealthRegistry registry;
  const auto ip_hash = with(BalanceAlgorithm::kIpHash);
  auto three =
      BackendPool::build("r", action({target({"10.0.0.1", "10.0.0.2", "10.0.0.3"}, 80)}, ip_hash), registry);
  auto four = BackendPool::build(
      "r", action({target({"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}, 80)}, ip_hash), registry);
  constexpr int kClients = 10'000;
  int moved = 0;
  std::map<std::string, int> share;
  for (std::uint32_t c = 0; c < kClients; ++c) {
    const auto ip = core::IpAddress::v4(0xc0a80000u + c * 7919u);  // spread over 192.168/16 and beyond
    const auto& before = three->backend(*three->pick(ip)).host;
    const auto& after = four->backend(*four->pick(ip)).host;
    share[after]++;
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, "10.0.0.4") << "a client moved between backends that stayed";
    }
  }
  EXPECT_LE(moved, kClients / 4 + kClients / 12);  // 1/N, plus the ring's unevenness
  EXPECT_GE(moved, kClients / 4 - kClients / 12);
  for (const auto& [host, n] : share) EXPECT_NEAR(n, kClients / 4, kClients / 12) << host;
}

TEST(BackendPool, IpHashPassesAClientOnWhileItsBackendIsUnavailable) {
  HealthRegistry registry;
  LoadBalancing b = with(BalanceAlgorithm::kIpHash);
  b.passive = {.consecutive_failures = 1, .base_ejection_time = 50ms, .max_ejection_time = 50ms};
  auto pool = BackendPool::build("r", action({target({"a", "b", "c"}, 80)}, b), registry);
  const auto ip = client(42);
  const std::size_t home = *pool->pick(ip);
  const std::vector<std::size_t> exclude = {home};
  auto other = pool->pick(ip, exclude);
  ASSERT_TRUE(other);
  EXPECT_NE(*other, home);
  EXPECT_EQ(pool->pick(ip, exclude), other);  // the same next backend each time

  const auto t0 = Clock::now();
  pool->report_failure(home, t0);
  EXPECT_EQ(pool->pick(ip, {}, t0), other);
  EXPECT_EQ(pool->pick(ip, {}, t0 + 50ms), home);  // back once the ejection ran out
}

TEST(BackendPool, ExcludedBackendsAreNotPicked) {
  HealthRegistry registry;
  for (auto algorithm :
       {BalanceAlgorithm::kRoundRobin, BalanceAlgorithm::kLeastConnections, BalanceAlgorithm::kIpHash}) {
    auto pool = BackendPool::build("r", action({target({"a", "b", "c"}, 80)}, with(algorithm)), registry);
    const std::vector<std::size_t> exclude = {0, 2};
    for (std::uint32_t n = 0; n < 50; ++n) EXPECT_EQ(pool->pick(client(n), exclude), 1u);
    const std::vector<std::size_t> all = {0, 1, 2};
    EXPECT_FALSE(pool->pick(client(1), all));
  }
}

TEST(BackendPool, AFullBackendIsSkippedUntilALeaseIsReleased) {
  HealthRegistry registry;
  LoadBalancing b;
  b.max_pending_requests = 1;
  auto pool = BackendPool::build("r", action({target({"a", "b"}, 80)}, b), registry);
  auto lease = pool->acquire(0);
  ASSERT_TRUE(lease);
  EXPECT_FALSE(pool->acquire(0));
  for (int n = 0; n < 20; ++n) EXPECT_EQ(pool->pick(client(1)), 1u);
  auto other = pool->acquire(1);
  EXPECT_FALSE(pool->pick(client(1)));  // every backend is full: the caller answers 503

  BackendPool::Lease moved = std::move(*lease);  // moving does not release
  EXPECT_FALSE(pool->acquire(0));
  moved.release();
  EXPECT_EQ(pool->pick(client(1)), 0u);
}

TEST(BackendPool, PassiveEjectionTakesABackendOutForTheEjectionTime) {
  HealthRegistry registry;
  LoadBalancing b;
  b.passive = {.consecutive_failures = 3, .base_ejection_time = 50ms, .max_ejection_time = 200ms};
  auto pool = BackendPool::build("r", action({target({"a", "b"}, 80)}, b), registry);
  pool->report_failure(0);
  pool->report_failure(0);
  EXPECT_TRUE(pool->available(0));
  pool->report_failure(0);
  EXPECT_FALSE(pool->available(0));
  for (int n = 0; n < 10; ++n) EXPECT_EQ(pool->pick(client(1)), 1u);

  // A real wait, polled: the backend comes back by itself.
  const auto deadline = Clock::now() + 10s;
  while (!pool->available(0) && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(pool->available(0));
  EXPECT_EQ(count_picks(*pool, 10)["a"], 5);
}

TEST(BackendPool, TheLastUsableBackendIsNeverEjected) {
  HealthRegistry registry;
  LoadBalancing b;
  b.passive = {.consecutive_failures = 2, .base_ejection_time = 60'000ms, .max_ejection_time = 60'000ms};
  auto single = BackendPool::build("one", action({target({"a"}, 80)}, b), registry);
  for (int n = 0; n < 10; ++n) single->report_failure(0);
  EXPECT_EQ(single->pick(client(1)), 0u);  // clients get the backend's own answer, not a 503

  auto pair = BackendPool::build("two", action({target({"a", "b"}, 80)}, b), registry);
  for (int n = 0; n < 2; ++n) pair->report_failure(0);
  for (int n = 0; n < 10; ++n) pair->report_failure(1);
  EXPECT_FALSE(pair->available(0));
  EXPECT_TRUE(pair->available(1));
}

TEST(BackendPool, BackendsDownByActiveChecksAreNotPicked) {
  HealthRegistry registry;
  LoadBalancing b;
  b.health_check = HealthCheck{.unhealthy_threshold = 1, .healthy_threshold = 1};
  auto pool = BackendPool::build("r", action({target({"a", "b"}, 80), target({"p"}, 0)}, b), registry);
  EXPECT_TRUE(pool->has_active_checks());
  EXPECT_TRUE(pool->backend(0).checked);
  EXPECT_FALSE(pool->backend(2).checked);  // port: preserve cannot be checked
  pool->shared_state(0)->record_check(false, 1, 1);
  pool->shared_state(1)->record_check(false, 1, 1);
  for (int n = 0; n < 10; ++n) EXPECT_EQ(pool->pick(client(1)), 2u);
  const std::vector<std::size_t> exclude = {2};
  EXPECT_FALSE(pool->pick(client(1), exclude));  // no panic mode: nothing healthy, nothing picked

  // The same route without healthCheck: the verdict no longer applies.
  auto unchecked = BackendPool::build("r", action({target({"a", "b"}, 80), target({"p"}, 0)}), registry);
  EXPECT_TRUE(unchecked->available(0));
  EXPECT_TRUE(pool->backend(0).state().up());  // shared: the state was reset
}

TEST(BackendPool, TlsBackendsAreNotActivelyChecked) {
  HealthRegistry registry;
  LoadBalancing b;
  b.health_check = HealthCheck{};
  auto config = action({target({"a"}, 443)}, b);
  config.tls = RouteTls{.mode = TlsMode::kPassthrough};
  auto pool = BackendPool::build("r", config, registry);
  EXPECT_TRUE(pool->backend_tls());
  EXPECT_FALSE(pool->has_active_checks());
}

TEST(BackendPool, AHostNamedTwiceIsOneBackendWithTheWeightsAdded) {
  HealthRegistry registry;
  auto pool = BackendPool::build("r", action({target({"a"}, 80, 2), target({"a", "b"}, 80, 1)}), registry);
  ASSERT_EQ(pool->size(), 2u);
  EXPECT_EQ(pool->backend(0).weight, 3u);
  auto counts = count_picks(*pool, 400);
  EXPECT_EQ(counts["a"], 300);
}

TEST(BackendPool, AnEmptyPoolPicksNothing) {
  HealthRegistry registry;
  auto pool = BackendPool::build("r", action({}), registry);
  EXPECT_FALSE(pool->pick(client(1)));
}

}  // namespace
}  // namespace basalt::proxy
