#include "basalt/dns/engine/engine.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace basalt::dns {
namespace {

// The error decoding `config` (JSON) gives, or "" when it is accepted.
std::string start_error(std::string_view config) {
  try {
    core::config::decode<EngineStartConfig>(boost::json::parse(config), "config");
  } catch (const core::config::Error& e) {
    return e.what();
  }
  return "";
}

// The UDP port also carries DNS over TCP, so DoH on the same port and an
// overlapping address would split TCP connections between the two.
TEST(EngineStartConfig, TheSamePortForUdpAndHttpsOnOverlappingAddressesIsRefused) {
  auto same = start_error(R"({"udpPort": 5353, "httpsPort": 5353, "udpBindInterface": "127.0.0.1",
                               "httpsBindInterface": "127.0.0.1"})");
  EXPECT_TRUE(same.starts_with("config.httpsPort: 5353 is also udpPort")) << same;
  EXPECT_NE(same.find("httpsBindInterface \"127.0.0.1\""), std::string::npos) << same;
  // A wildcard overlaps every address of its family (the default is 0.0.0.0).
  EXPECT_NE(start_error(R"({"udpPort": 5353, "httpsPort": 5353, "udpBindInterface": "127.0.0.1"})"), "");
  EXPECT_NE(start_error(R"({"udpPort": 5353, "httpsPort": 5353, "httpsBindInterface": "::1",
                            "udpBindInterface": "::"})"),
            "");

  // Different addresses, different families (IPv6 listeners are v6-only),
  // different ports, port 0 (each gets its own) or a manual mode: accepted.
  EXPECT_EQ(start_error(R"({"udpPort": 5353, "httpsPort": 5353, "udpBindInterface": "127.0.0.1",
                            "httpsBindInterface": "127.0.0.2"})"),
            "");
  EXPECT_EQ(start_error(R"({"udpPort": 5353, "httpsPort": 5353, "udpBindInterface": "127.0.0.1",
                            "httpsBindInterface": "::1"})"),
            "");
  EXPECT_EQ(start_error(R"({"udpPort": 5353, "httpsPort": 5353, "udpBindInterface": "0.0.0.0",
                            "httpsBindInterface": "::"})"),
            "");
  EXPECT_EQ(start_error(R"({"udpPort": 5353, "httpsPort": 8443})"), "");
  EXPECT_EQ(start_error(R"({"udpPort": 0, "httpsPort": 0})"), "");
  EXPECT_EQ(start_error(R"({"udpPort": 5353, "httpsPort": 5353, "manualHttpsMode": true})"), "");
}

}  // namespace
}  // namespace basalt::dns
