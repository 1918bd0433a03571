#include "metrics/metrics_reader.hpp"

#include <gtest/gtest.h>

#include <array>

namespace basalt::proxy {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::system_clock;

const Clock::time_point kT0{seconds{1'700'000'000}};

core::IpAddress addr(std::string_view text) {
  return *core::IpAddress::parse(text);
}

// Two workers and a registry, as the proxy has them, on a fake clock.
struct Proxy {
  RouteRegistry registry;
  WorkerMetrics w1{{.max_routes = registry.capacity(), .max_ips = 100}, kT0};
  WorkerMetrics w2{{.max_routes = registry.capacity(), .max_ips = 100}, kT0};
  std::array<const WorkerMetrics*, 2> workers{&w1, &w2};
  MetricsReader reader{workers, registry};

  std::vector<RouteSlot> publish(std::vector<std::string> ids) { return registry.assign(ids); }
  void tick(Clock::time_point t) {
    w1.tick(t);
    w2.tick(t);
  }
};

TEST(MetricsReader, SumsConnectionsAndBytesOverWorkers) {
  Proxy p;
  auto slots = p.publish({"web", "api"});
  auto a = p.w1.connection_opened(slots[0], addr("192.0.2.1"));
  auto b = p.w2.connection_opened(slots[0], addr("192.0.2.1"));
  auto c = p.w2.connection_opened(slots[1], addr("192.0.2.2"));
  p.w1.bytes(a, 100, 1000);
  p.w2.bytes(b, 10, 20);
  p.w2.bytes(c, 1, 2);
  p.w2.connection_closed(c);
  p.w1.refused(RefuseReason::kNoRoute);
  p.w2.refused(RefuseReason::kNoRoute);
  p.w2.refused(RefuseReason::kIpBlocked);

  auto m = p.reader.collect({}, kT0 + seconds{1});
  EXPECT_EQ(m.connections.active, 2u);
  EXPECT_EQ(m.connections.total, 3u);
  EXPECT_EQ(m.bytes_in, 111u);
  EXPECT_EQ(m.bytes_out, 1022u);
  EXPECT_EQ(m.routes["web"].connections.active, 2u);
  EXPECT_EQ(m.routes["web"].bytes_out, 1020u);
  EXPECT_EQ(m.routes["api"].connections.active, 0u);
  EXPECT_EQ(m.routes["api"].connections.total, 1u);
  // The same client on two workers is one address.
  EXPECT_EQ(m.ips["192.0.2.1"].connections.active, 2u);
  EXPECT_EQ(m.ips["192.0.2.1"].bytes_in, 110u);
  EXPECT_EQ(m.refused["no_route"], 2u);
  EXPECT_EQ(m.refused["ip_blocked"], 1u);
  EXPECT_EQ(m.refused["tls_handshake_failed"], 0u);
  EXPECT_EQ(m.refused_total(), 3u);
}

TEST(MetricsReader, RouteCountersFollowTheRouteIdAcrossUpdateRoutes) {
  Proxy p;
  auto old_table = p.publish({"web", "api"});
  auto conn = p.w1.connection_opened(old_table[1], addr("192.0.2.1"));  // api
  p.w1.bytes(conn, 5, 5);

  // The new table drops "api", moves "web" and adds "admin" in front.
  auto new_table = p.publish({"admin", "web"});
  auto still_open = p.w2.connection_opened(new_table[1], addr("192.0.2.1"));  // web
  auto closed = p.w1.connection_opened(new_table[1], addr("192.0.2.3"));
  p.w1.connection_closed(closed);

  auto routes = p.reader.by_route(10, kT0 + seconds{1});
  EXPECT_EQ(routes["web"].connections.total, 2u);
  EXPECT_EQ(routes["admin"].connections.total, 0u);
  // "api" left the table but still has an open connection: shown until it drains.
  ASSERT_TRUE(routes.contains("api"));
  EXPECT_EQ(routes["api"].connections.active, 1u);
  EXPECT_EQ(routes["api"].bytes_in, 5u);

  p.w1.connection_closed(conn);
  routes = p.reader.by_route(10, kT0 + seconds{1});
  EXPECT_FALSE(routes.contains("api"));
  // Totals keep what the retired route moved.
  EXPECT_EQ(p.reader.collect({}, kT0 + seconds{1}).bytes_in, 5u);

  // "api" comes back with its counters.
  auto third = p.publish({"api"});
  EXPECT_EQ(third[0], old_table[1]);
  EXPECT_EQ(p.reader.by_route(10, kT0 + seconds{1})["api"].connections.total, 1u);
  p.w2.connection_closed(still_open);
}

TEST(MetricsReader, RoutesBeyondTheRegistryBoundAreCountedAsOther) {
  RouteRegistry registry(1);
  WorkerMetrics w({.max_routes = registry.capacity()}, kT0);
  std::array<const WorkerMetrics*, 1> workers{&w};
  MetricsReader reader(workers, registry);
  std::vector<std::string> ids = {"one", "two"};
  auto slots = registry.assign(ids);
  auto c = w.connection_opened(slots[1], addr("192.0.2.1"));
  auto routes = reader.by_route(10, kT0);
  EXPECT_EQ(routes["(other)"].connections.active, 1u);
  EXPECT_EQ(routes["one"].connections.active, 0u);
  EXPECT_FALSE(routes.contains("two"));
  w.connection_closed(c);
  EXPECT_EQ(reader.collect({}, kT0).route_ids_overflowed, 1u);
}

TEST(MetricsReader, ThroughputWindowsAndHistoryUseWholeSecondsOnTheWorkersClock) {
  Proxy p;
  auto slots = p.publish({"web"});
  auto c1 = p.w1.connection_opened(slots[0], addr("192.0.2.1"));
  auto c2 = p.w2.connection_opened(slots[0], addr("192.0.2.2"));
  // 30 seconds of traffic: second k moves k bytes in on each worker, and
  // 2 bytes out on worker 1.
  for (int k = 1; k <= 30; ++k) {
    p.tick(kT0 + seconds{k});
    p.w1.bytes(c1, k, 2);
    p.w2.bytes(c2, k, 0);
  }
  // Second 31 has started but not ended: it does not count yet.
  p.tick(kT0 + seconds{31});
  p.w1.bytes(c1, 1'000'000, 0);
  auto now = kT0 + seconds{31} + std::chrono::milliseconds{500};

  auto instant = p.reader.throughput(1, now);
  EXPECT_DOUBLE_EQ(instant.in, 60);  // 30 + 30
  EXPECT_DOUBLE_EQ(instant.out, 2);
  // Seconds 21..30: 2 * (21 + ... + 30) / 10.
  EXPECT_DOUBLE_EQ(p.reader.throughput(10, now).in, 2.0 * 255 / 10);
  // 60 s average: 2 * (1 + ... + 30) / 60, the earlier seconds idle.
  EXPECT_DOUBLE_EQ(p.reader.throughput(60, now).in, 2.0 * 465 / 60);

  auto history = p.reader.history(5, now);
  ASSERT_EQ(history.size(), 5u);
  EXPECT_EQ(history.front().timestamp_ms, (1'700'000'000 + 26) * 1000LL);
  EXPECT_EQ(history.front().in, 52u);
  EXPECT_EQ(history.back().timestamp_ms, (1'700'000'000 + 30) * 1000LL);
  EXPECT_EQ(history.back().in, 60u);
  EXPECT_EQ(history.back().out, 2u);

  auto routes = p.reader.by_route(10, now);
  EXPECT_DOUBLE_EQ(routes["web"].throughput.in, 2.0 * 255 / 10);
  auto ips = p.reader.by_ip(1, now);
  EXPECT_DOUBLE_EQ(ips["192.0.2.1"].throughput.in, 30);
  EXPECT_DOUBLE_EQ(ips["192.0.2.1"].throughput.out, 2);

  // An hour later the first traffic has left the history; nothing is older
  // than one hour.
  p.tick(kT0 + seconds{3600 + 20});
  p.w1.bytes(c1, 7, 0);
  auto later = kT0 + seconds{3600 + 21};
  auto hour = p.reader.history(3600, later);
  ASSERT_EQ(hour.size(), 3600u);
  std::uint64_t in = 0;
  for (const auto& s : hour) in += s.in;
  // The hour is seconds 21..3620: the first burst's seconds 1..20 are gone,
  // 21..31 are still in it, and so is the 7.
  EXPECT_EQ(in, 2u * (21 + 22 + 23 + 24 + 25 + 26 + 27 + 28 + 29 + 30) + 1'000'000u + 7u);
  EXPECT_EQ(hour.front().timestamp_ms, (1'700'000'000 + 21) * 1000LL);
  EXPECT_EQ(hour.back().in, 7u);
}

TEST(MetricsReader, TopIpsAreTheAddressesWithTheMostOpenConnections) {
  Proxy p;
  auto slots = p.publish({"web"});
  std::vector<ConnectionHandle> open;
  for (int i = 0; i < 3; ++i) open.push_back(p.w1.connection_opened(slots[0], addr("192.0.2.3")));
  for (int i = 0; i < 2; ++i) open.push_back(p.w2.connection_opened(slots[0], addr("192.0.2.2")));
  open.push_back(p.w2.connection_opened(slots[0], addr("192.0.2.1")));
  auto gone = p.w1.connection_opened(slots[0], addr("192.0.2.9"));
  p.w1.connection_closed(gone);

  auto top = p.reader.collect({.top_ips = 2}, kT0).top_ips;
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].ip, "192.0.2.3");
  EXPECT_EQ(top[0].count, 3u);
  EXPECT_EQ(top[1].ip, "192.0.2.2");
  EXPECT_EQ(top[1].count, 2u);
  // Addresses without open connections are not "top".
  EXPECT_EQ(p.reader.collect({.top_ips = 10}, kT0).top_ips.size(), 3u);
}

TEST(MetricsReader, GetMetricsAnswerUsesThePackagesNames) {
  Proxy p;
  auto slots = p.publish({"web"});
  auto c = p.w1.connection_opened(slots[0], addr("127.0.0.1"));
  p.tick(kT0 + seconds{1});
  p.w1.bytes(c, 10, 20);
  p.w1.refused(RefuseReason::kIpRateLimit);

  auto json = p.reader.collect({.top_ips = 10, .history_seconds = 3}, kT0 + seconds{2}).to_json();
  const auto& conns = json.at("connections").as_object();
  EXPECT_EQ(conns.at("active").to_number<int>(), 1);
  EXPECT_EQ(conns.at("total").to_number<int>(), 1);
  EXPECT_EQ(conns.at("byRoute").at("web").at("active").to_number<int>(), 1);
  EXPECT_EQ(conns.at("byIP").at("127.0.0.1").at("total").to_number<int>(), 1);
  EXPECT_EQ(conns.at("topIPs").at(0).at("ip").as_string(), "127.0.0.1");
  EXPECT_EQ(conns.at("topIPs").at(0).at("count").to_number<int>(), 1);

  const auto& tp = json.at("throughput").as_object();
  EXPECT_EQ(tp.at("instant").at("in").to_number<double>(), 10);
  EXPECT_EQ(tp.at("instant").at("out").to_number<double>(), 20);
  EXPECT_EQ(tp.at("recent").at("in").to_number<double>(), 1);
  EXPECT_DOUBLE_EQ(tp.at("average").at("out").to_number<double>(), 20.0 / 60);
  ASSERT_EQ(tp.at("history").as_array().size(), 3u);
  EXPECT_EQ(tp.at("history").at(2).at("timestamp").to_number<std::int64_t>(), 1'700'000'001'000);
  EXPECT_EQ(tp.at("history").at(2).at("in").to_number<int>(), 10);
  EXPECT_EQ(tp.at("byRoute").at("web").at("out").to_number<double>(), 2);
  EXPECT_EQ(tp.at("byIP").at("127.0.0.1").at("in").to_number<double>(), 1);

  EXPECT_EQ(json.at("refused").at("total").to_number<int>(), 1);
  EXPECT_EQ(json.at("refused").at("byReason").at("ip_rate_limit").to_number<int>(), 1);
  EXPECT_EQ(json.at("bytes").at("in").to_number<int>(), 10);
  EXPECT_EQ(json.at("bytes").at("out").to_number<int>(), 20);
}

}  // namespace
}  // namespace basalt::proxy
