#include "udp/udp_prometheus.hpp"

#include <gmock/gmock.h>

#include <boost/json/parse.hpp>

namespace basalt::proxy {
namespace {

using ::testing::HasSubstr;

TEST(UdpPrometheus, CountersByRouteAndReason) {
  auto udp =
      boost::json::parse(R"({"datagramsIn": 5, "datagramsOut": 4, "activeSessions": 2, "totalSessions": 3,
    "dropped": {"total": 1, "byReason": {"too_large": 1}},
    "byRoute": {"dns \"main\"": {"datagramsIn": 5, "datagramsOut": 4, "bytesIn": 100, "bytesOut": 300}}})")
          .as_object();
  const auto text = udp_prometheus(udp);
  EXPECT_THAT(text, HasSubstr("basalt_proxy_udp_datagrams_total{direction=\"in\"} 5\n"));
  EXPECT_THAT(
      text,
      HasSubstr("basalt_proxy_udp_route_bytes_total{route=\"dns \\\"main\\\"\",direction=\"out\"} 300\n"));
  EXPECT_THAT(text, HasSubstr("basalt_proxy_udp_sessions_active 2\n"));
  EXPECT_THAT(text, HasSubstr("basalt_proxy_udp_dropped_total{reason=\"too_large\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE basalt_proxy_udp_sessions_total counter\n"));
}

}  // namespace
}  // namespace basalt::proxy
