#include "security/connection_limits.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace basalt::proxy {
namespace {

using Clock = ConnectionLimits::Clock;
using std::chrono::seconds;

// A fake clock: a fixed start plus whatever a test adds.
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1000);

core::IpAddress ip(std::string_view text) {
  return *core::IpAddress::parse(text);
}

TEST(ConnectionLimits, RefusalNamesAreTheMetricNames) {
  EXPECT_EQ("route_max_connections", to_string(LimitRefusal::kRouteMaxConnections));
  EXPECT_EQ("ip_max_connections", to_string(LimitRefusal::kIpMaxConnections));
  EXPECT_EQ("ip_rate_limit", to_string(LimitRefusal::kIpRateLimit));
  EXPECT_EQ("ip_table_full", to_string(LimitRefusal::kIpTableFull));
}

TEST(ConnectionLimits, RouteMaxConnectionsCountsEveryClientAndIsGivenBackOnRelease) {
  ConnectionLimits limits;
  auto route = limits.counter_for("web");
  Limits l{.max_connections = 2};
  auto a = limits.admit(ip("192.0.2.1"), l, route.get(), kT0);
  auto b = limits.admit(ip("192.0.2.2"), l, route.get(), kT0);
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_EQ(2u, route->active.load());
  auto c = limits.admit(ip("192.0.2.3"), l, route.get(), kT0);
  ASSERT_FALSE(c);
  EXPECT_EQ(LimitRefusal::kRouteMaxConnections, c.refusal());
  EXPECT_EQ(2u, route->active.load());  // a refusal leaves no count behind
  { ConnectionTicket gone = std::move(a.ticket()); }
  EXPECT_EQ(1u, route->active.load());
  EXPECT_TRUE(limits.admit(ip("192.0.2.3"), l, route.get(), kT0));
}

TEST(ConnectionLimits, RoutesAreCountedSeparately) {
  ConnectionLimits limits;
  auto web = limits.counter_for("web");
  auto api = limits.counter_for("api");
  EXPECT_EQ(web, limits.counter_for("web"));  // same id, same counter
  Limits l{.max_connections = 1};
  auto a = limits.admit(ip("192.0.2.1"), l, web.get(), kT0);
  ASSERT_TRUE(a);
  EXPECT_TRUE(limits.admit(ip("192.0.2.1"), l, api.get(), kT0));
  EXPECT_FALSE(limits.admit(ip("192.0.2.1"), l, web.get(), kT0));
}

TEST(ConnectionLimits, RouteCountersSurviveTableSwapsAndArePrunedWhenUnused) {
  ConnectionLimits limits;
  auto old_table = limits.counter_for("web");
  RouteCounter* raw = old_table.get();
  auto new_table = limits.counter_for("web");
  old_table.reset();
  limits.prune_route_counters();
  EXPECT_EQ(raw, limits.counter_for("web").get());  // still held by the new table
  new_table.reset();
  limits.prune_route_counters();
  auto fresh = limits.counter_for("web");
  EXPECT_EQ(0u, fresh->active.load());
}

TEST(ConnectionLimits, MaxConnectionsPerIpCountsAcrossRoutes) {
  ConnectionLimits limits;
  auto web = limits.counter_for("web");
  auto api = limits.counter_for("api");
  Limits l{.max_connections_per_ip = 2};
  std::vector<ConnectionTicket> held;
  for (auto* route : {web.get(), api.get()}) {
    auto admission = limits.admit(ip("198.51.100.7"), l, route, kT0);
    ASSERT_TRUE(admission);
    held.push_back(std::move(admission.ticket()));
  }
  auto third = limits.admit(ip("198.51.100.7"), l, web.get(), kT0);
  ASSERT_FALSE(third);
  EXPECT_EQ(LimitRefusal::kIpMaxConnections, third.refusal());
  EXPECT_EQ(1u, web->active.load());  // the refused one gave its route count back
  // Another client is not affected.
  EXPECT_TRUE(limits.admit(ip("198.51.100.8"), l, web.get(), kT0));
  EXPECT_EQ(2u, limits.active_for(ip("198.51.100.7")));
  held.pop_back();
  EXPECT_EQ(1u, limits.active_for(ip("198.51.100.7")));
  EXPECT_TRUE(limits.admit(ip("198.51.100.7"), l, web.get(), kT0));
}

TEST(ConnectionLimits, Ipv4MappedIpv6IsTheSameClient) {
  ConnectionLimits limits;
  Limits l{.max_connections_per_ip = 1};
  auto a = limits.admit(ip("203.0.113.9"), l, nullptr, kT0);
  ASSERT_TRUE(a);
  auto b = limits.admit(ip("::ffff:203.0.113.9"), l, nullptr, kT0);
  ASSERT_FALSE(b);
  EXPECT_EQ(LimitRefusal::kIpMaxConnections, b.refusal());
  // IPv6 clients are keyed by the full address.
  EXPECT_TRUE(limits.admit(ip("2001:db8::1"), l, nullptr, kT0));
  auto v6 = limits.admit(ip("2001:db8::2"), l, nullptr, kT0);
  EXPECT_TRUE(v6);
}

TEST(ConnectionLimits, RateLimitRefusesWithinAMinuteAndRefusalsCostNothing) {
  ConnectionLimits limits;
  Limits l{.rate_per_minute = 5};
  for (int i = 0; i < 5; ++i) {
    // Admitted and closed at once: only the rate can refuse.
    EXPECT_TRUE(limits.admit(ip("192.0.2.1"), l, nullptr, kT0 + seconds(i))) << i;
  }
  for (int i = 0; i < 20; ++i) {
    auto refused = limits.admit(ip("192.0.2.1"), l, nullptr, kT0 + seconds(10));
    ASSERT_FALSE(refused);
    EXPECT_EQ(LimitRefusal::kIpRateLimit, refused.refusal());
  }
  EXPECT_TRUE(limits.admit(ip("192.0.2.2"), l, nullptr, kT0 + seconds(10)));
  // Two minutes later the window is empty again, and the 20 refusals left no debt.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limits.admit(ip("192.0.2.1"), l, nullptr, kT0 + seconds(120)));
  EXPECT_FALSE(limits.admit(ip("192.0.2.1"), l, nullptr, kT0 + seconds(120)));
}

TEST(ConnectionLimits, RateWindowSlides) {
  ConnectionLimits limits;
  Limits l{.rate_per_minute = 10};
  const auto minute = std::chrono::floor<std::chrono::minutes>(kT0);
  int admitted = 0;
  for (int i = 0; i < 12; ++i) admitted += limits.admit(ip("192.0.2.1"), l, nullptr, minute).admitted();
  EXPECT_EQ(10, admitted);
  // Halfway through the next minute the last minute still weighs 10 x 0.5.
  admitted = 0;
  for (int i = 0; i < 12; ++i) {
    admitted += limits.admit(ip("192.0.2.1"), l, nullptr, minute + seconds(90)).admitted();
  }
  EXPECT_EQ(5, admitted);
  // At 3/4 of the minute after: 5 x 0.25 = 1.25 -> 8 more fit (8 + 1.25 <= 10).
  admitted = 0;
  for (int i = 0; i < 12; ++i) {
    admitted += limits.admit(ip("192.0.2.1"), l, nullptr, minute + seconds(165)).admitted();
  }
  EXPECT_EQ(8, admitted);
}

TEST(ConnectionLimits, NoPerIpLimitDoesNotTrackIps) {
  ConnectionLimits limits({.max_ips = 64});
  for (std::uint32_t i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limits.admit(core::IpAddress::v4(0x0a000000u + i), Limits{}, nullptr, kT0));
  }
  EXPECT_EQ(0u, limits.tracked_ips());
}

// Fills a 64-entry table (one entry per shard) with clients that each keep a
// connection open; returns their tickets. `next` is the next IPv4 to use.
std::vector<ConnectionTicket> fill_table(ConnectionLimits& limits, const Limits& l, std::uint32_t& next) {
  std::vector<ConnectionTicket> held;
  int table_full = 0;
  for (int i = 0; i < 100'000 && held.size() < 64; ++i) {
    auto admission = limits.admit(core::IpAddress::v4(next++), l, nullptr, kT0);
    if (admission) {
      held.push_back(std::move(admission.ticket()));
    } else {
      EXPECT_EQ(LimitRefusal::kIpTableFull, admission.refusal());
      ++table_full;
    }
  }
  EXPECT_EQ(64u, held.size());
  EXPECT_GT(table_full, 0);
  EXPECT_EQ(64u, limits.tracked_ips());
  return held;
}

TEST(ConnectionLimits, FullTableRefusesNewClientsWhileTrackedOnesHaveConnections) {
  ConnectionLimits limits({.max_ips = 64});
  ASSERT_EQ(64u, limits.capacity());
  Limits l{.max_connections_per_ip = 100};
  std::uint32_t next = 0x0a000000u;
  auto held = fill_table(limits, l, next);
  // Refused even much later, when every rate window is idle.
  for (int i = 0; i < 500; ++i) {
    auto admission = limits.admit(core::IpAddress::v4(next++), l, nullptr, kT0 + std::chrono::hours(1));
    ASSERT_FALSE(admission);
    EXPECT_EQ(LimitRefusal::kIpTableFull, admission.refusal());
  }
  EXPECT_EQ(64u, limits.tracked_ips());
  // Known clients are still served.
  EXPECT_TRUE(limits.admit(core::IpAddress::v4(0x0a000000u), l, nullptr, kT0 + std::chrono::hours(1)));
}

TEST(ConnectionLimits, FullTableEvictsClientsWithoutConnectionsOnceTheirRateWindowIsIdle) {
  ConnectionLimits limits({.max_ips = 64});
  Limits l{.max_connections_per_ip = 100};
  std::uint32_t next = 0x0a000000u;
  auto held = fill_table(limits, l, next);
  held.clear();
  // Closed connections alone do not free entries while their rate window is
  // recent (their rate must still be enforced) ...
  int admitted = 0;
  for (int i = 0; i < 500; ++i) {
    admitted += limits.admit(core::IpAddress::v4(next++), l, nullptr, kT0 + seconds(40)).admitted();
  }
  EXPECT_EQ(0, admitted);
  // ... two minutes later they are idle and make room for new clients.
  for (int i = 0; i < 5000; ++i) {  // enough to reach every shard
    auto admission = limits.admit(core::IpAddress::v4(next++), l, nullptr, kT0 + std::chrono::minutes(3));
    admitted += admission.admitted();
    if (admission) held.push_back(std::move(admission.ticket()));
  }
  EXPECT_EQ(64, admitted);
  EXPECT_EQ(64u, limits.tracked_ips());
}

TEST(ConnectionLimits, TicketsMoveAndReleaseOnce) {
  ConnectionLimits limits;
  auto route = limits.counter_for("r");
  Limits l{.max_connections_per_ip = 5};
  auto admission = limits.admit(ip("192.0.2.1"), l, route.get(), kT0);
  ASSERT_TRUE(admission);
  ConnectionTicket a = std::move(admission.ticket());
  EXPECT_TRUE(admission.ticket().empty());
  ConnectionTicket b;
  b = std::move(a);
  EXPECT_EQ(1u, route->active.load());
  EXPECT_EQ(1u, limits.active_for(ip("192.0.2.1")));
  std::thread([t = std::move(b)]() mutable { t.release(); }).join();  // released on another thread
  EXPECT_EQ(0u, route->active.load());
  EXPECT_EQ(0u, limits.active_for(ip("192.0.2.1")));
}

TEST(ConnectionLimits, ConcurrentAdmitsAndReleasesBalance) {
  ConnectionLimits limits({.max_ips = 256});
  auto route = limits.counter_for("r");
  Limits l{.max_connections = 50, .max_connections_per_ip = 3, .rate_per_minute = 1'000'000};
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<ConnectionTicket> mine;
      for (int i = 0; i < 20'000; ++i) {
        auto client = core::IpAddress::v4(0x0a000000u + static_cast<std::uint32_t>((i * 7 + t) % 40));
        auto admission = limits.admit(client, l, route.get(), kT0);
        if (admission) {
          ++admitted;
          mine.push_back(std::move(admission.ticket()));
        }
        if (mine.size() > 8 || (i % 3 == 0 && !mine.empty())) mine.erase(mine.begin());
        EXPECT_LE(route->active.load(), 50u);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_GT(admitted.load(), 0);
  EXPECT_EQ(0u, route->active.load());
  for (std::uint32_t i = 0; i < 40; ++i)
    EXPECT_EQ(0u, limits.active_for(core::IpAddress::v4(0x0a000000u + i)));
}

}  // namespace
}  // namespace basalt::proxy
