#include "basalt/proxy/metrics.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "basalt/core/config.hpp"

namespace basalt::proxy {
namespace {

std::string decode_error(std::string_view params) {
  try {
    MetricsQuery::decode(boost::json::parse(params));
  } catch (const core::config::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(MetricsQuery, DefaultsAndBounds) {
  auto q = MetricsQuery::decode(nullptr);
  EXPECT_EQ(q.top_ips, 10u);
  EXPECT_EQ(q.history_seconds, 60u);
  q = MetricsQuery::decode(boost::json::parse(R"({"topIPs": 1000, "historySeconds": 3600})"));
  EXPECT_EQ(q.top_ips, 1000u);
  EXPECT_EQ(q.history_seconds, 3600u);
  q = MetricsQuery::decode(boost::json::parse(R"({"historySeconds": 0})"));
  EXPECT_EQ(q.history_seconds, 0u);
  EXPECT_EQ(q.top_ips, 10u);
}

TEST(MetricsQuery, BadParametersAreErrorsNamingTheParameter) {
  EXPECT_EQ(decode_error(R"({"topIPs": 1001})"), "params.topIPs: 1001 is out of range (0-1000)");
  EXPECT_EQ(decode_error(R"({"historySeconds": 3601})"),
            "params.historySeconds: 3601 is out of range (0-3600)");
  EXPECT_EQ(decode_error(R"({"historySeconds": -1})"), "params.historySeconds: -1 is out of range (0-3600)");
  EXPECT_EQ(decode_error(R"({"topIPs": "5"})"), "params.topIPs: \"5\" is not a whole number (0-1000)");
  EXPECT_EQ(decode_error(R"({"topIPs": 2.5})"), "params.topIPs: 2.5E0 is not a whole number (0-1000)");
  EXPECT_EQ(decode_error(R"({"topIps": 5})"),
            "params.topIps: is not a known parameter (topIPs, historySeconds)");
  EXPECT_EQ(decode_error(R"([1])"), "params: [1] is not an object");
}

Metrics sample() {
  Metrics m;
  m.connections = {.active = 3, .total = 40};
  m.routes["web"] = {.connections = {.active = 2, .total = 30}, .bytes_in = 100, .bytes_out = 2000};
  m.routes["say \"hi\"\\\n"] = {.connections = {.active = 1, .total = 10}, .bytes_in = 5, .bytes_out = 6};
  m.bytes_in = 105;
  m.bytes_out = 2006;
  m.refused = {{"no_route", 4}, {"ip_blocked", 0}};
  m.instant = {.in = 1.5, .out = 3};
  return m;
}

TEST(MetricsPrometheus, RendersEveryFamilyWithHelpTypeAndEscapedLabels) {
  auto text = sample().prometheus();
  for (auto family :
       {"basalt_proxy_connections_active gauge", "basalt_proxy_connections_total counter",
        "basalt_proxy_route_connections_active gauge", "basalt_proxy_route_connections_total counter",
        "basalt_proxy_route_bytes_total counter", "basalt_proxy_bytes_total counter",
        "basalt_proxy_refused_total counter", "basalt_proxy_throughput_bytes_per_second gauge"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
  }
  EXPECT_NE(text.find("\nbasalt_proxy_connections_active 3\n"), std::string::npos);
  EXPECT_NE(text.find("\nbasalt_proxy_connections_total 40\n"), std::string::npos);
  EXPECT_NE(text.find("\nbasalt_proxy_route_connections_active{route=\"web\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("\nbasalt_proxy_route_bytes_total{route=\"web\",direction=\"out\"} 2000\n"),
            std::string::npos);
  EXPECT_NE(text.find("\nbasalt_proxy_route_connections_total{route=\"say \\\"hi\\\"\\\\\\n\"} 10\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\nbasalt_proxy_bytes_total{direction=\"in\"} 105\n"), std::string::npos);
  EXPECT_NE(text.find("\nbasalt_proxy_refused_total{reason=\"no_route\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("\nbasalt_proxy_refused_total{reason=\"ip_blocked\"} 0\n"), std::string::npos);
  EXPECT_NE(
      text.find("\nbasalt_proxy_throughput_bytes_per_second{direction=\"in\",window=\"instant\"} 1.5\n"),
      std::string::npos);
  // Every line is a comment or a sample; no raw newline escaped from a label.
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    auto line = text.substr(start, end - start);
    EXPECT_TRUE(line.starts_with("# HELP ") || line.starts_with("# TYPE ") ||
                line.starts_with("basalt_proxy_"))
        << line;
    start = end + 1;
  }
}

TEST(MetricsJson, ConnectionsByIpListsOnlyOpenAddressesAndThroughputByIpOnlyBusyOnes) {
  Metrics m;
  m.ips["192.0.2.1"] = {.connections = {.active = 1, .total = 1}};
  m.ips["192.0.2.2"] = {.connections = {.active = 0, .total = 4}, .throughput = {.in = 2, .out = 0}};
  auto json = m.to_json();
  const auto& by_ip = json.at("connections").at("byIP").as_object();
  EXPECT_TRUE(by_ip.contains("192.0.2.1"));
  EXPECT_FALSE(by_ip.contains("192.0.2.2"));
  const auto& rates = json.at("throughput").at("byIP").as_object();
  EXPECT_FALSE(rates.contains("192.0.2.1"));
  EXPECT_EQ(rates.at("192.0.2.2").at("in").to_number<double>(), 2);
}

}  // namespace
}  // namespace basalt::proxy
