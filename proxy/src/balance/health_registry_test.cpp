#include "balance/health_registry.hpp"

#include <gtest/gtest.h>

#include "balance/backend_pool.hpp"

namespace basalt::proxy {
namespace {

using namespace std::chrono_literals;

RouteAction action(std::vector<std::string> hosts, std::uint16_t port = 80, bool checked = false) {
  RouteAction a;
  a.targets.push_back(Target{.host = std::move(hosts), .port = port});
  LoadBalancing b;
  b.passive = {.consecutive_failures = 1, .base_ejection_time = 60'000ms, .max_ejection_time = 60'000ms};
  if (checked) b.health_check = HealthCheck{};
  a.load_balancing = b;
  return a;
}

std::set<std::string, std::less<>> keys_of(const BackendPool& pool) {
  std::set<std::string, std::less<>> keys;
  for (std::size_t i = 0; i < pool.size(); ++i) keys.insert(pool.backend(i).key);
  return keys;
}

TEST(HealthRegistry, ARouteUpdateThatKeepsABackendKeepsItsState) {
  HealthRegistry registry;
  auto before = BackendPool::build("web", action({"10.0.0.1", "10.0.0.2"}), registry);
  before->report_failure(0);  // ejected
  auto lease = before->acquire(1);

  auto after = BackendPool::build("web", action({"10.0.0.2", "10.0.0.1", "10.0.0.3"}), registry);
  registry.retain(keys_of(*after));
  EXPECT_FALSE(after->available(1));  // 10.0.0.1: still ejected
  EXPECT_EQ(after->backend(0).state().in_flight(), 1u);
  EXPECT_EQ(after->backend(1).state().counters().ejections, 1u);
  EXPECT_EQ(&after->backend(0).state(), &before->backend(1).state());

  // Another route with the same backend address has its own state.
  auto other = BackendPool::build("api", action({"10.0.0.1"}), registry);
  EXPECT_TRUE(other->available(0));
}

TEST(HealthRegistry, RetainDropsStatesNoRouteUses) {
  HealthRegistry registry;
  auto before = BackendPool::build("web", action({"a", "b"}), registry);
  before->report_failure(0);
  auto after = BackendPool::build("web", action({"b"}), registry);
  registry.retain(keys_of(*after));
  EXPECT_EQ(registry.size(), 1u);
  auto snapshot = registry.snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].host, "b");
  EXPECT_FALSE(before->available(0));  // old pools keep their states while they live

  auto back = BackendPool::build("web", action({"a", "b"}), registry);  // "a" comes back fresh
  EXPECT_TRUE(back->available(0));
  EXPECT_EQ(back->backend(0).state().counters().failures, 0u);
}

TEST(HealthRegistry, SnapshotReportsHealthLoadAndCounters) {
  HealthRegistry registry;
  auto pool = BackendPool::build("web", action({"::1", "b"}, 8080, true), registry);
  auto lease = pool->acquire(1);
  pool->report_failure(0);
  pool->shared_state(1)->record_check(false, 1, 1);
  auto snapshot = registry.snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(pool->backend(0).key, "web|[::1]:8080");
  EXPECT_EQ(snapshot[0].route_id, "web");
  EXPECT_EQ(snapshot[0].host, "::1");
  EXPECT_EQ(snapshot[0].port, 8080);
  EXPECT_TRUE(snapshot[0].ejected);
  EXPECT_EQ(snapshot[0].counters.failures, 1u);
  EXPECT_EQ(snapshot[0].counters.ejections, 1u);
  EXPECT_EQ(snapshot[1].active, 1u);
  EXPECT_FALSE(snapshot[1].healthy);
  EXPECT_EQ(snapshot[1].counters.requests, 1u);
}

TEST(HealthRegistry, RefusesMoreBackendsThanItsBound) {
  HealthRegistry registry(2);
  registry.state("web", "a", 80);
  registry.state("web", "b", 80);
  registry.state("web", "a", 80);  // known: no new entry
  try {
    registry.state("api", "c", 443);
    FAIL() << "no error";
  } catch (const std::length_error& e) {
    EXPECT_STREQ(e.what(),
                 "route api: backend c:443: more than 2 backends in all routes (the health "
                 "registry's bound)");
  }
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(HealthRegistry(0).max_backends(), 0u);
  EXPECT_EQ(HealthRegistry().max_backends(), 65'536u);
}

}  // namespace
}  // namespace basalt::proxy
