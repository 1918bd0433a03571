#include "basalt/core/config_ip.hpp"

#include <gtest/gtest.h>
#include <boost/describe/class.hpp>

namespace basalt::core::config {
namespace {

struct Listeners {
  std::vector<Endpoint> listen;
  std::vector<Cidr> allow;
};
BOOST_DESCRIBE_STRUCT(Listeners, (), (listen, allow))

std::string error_of(std::string_view yaml) {
  try {
    decode<Listeners>(parse_yaml(yaml));
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(ConfigIp, DecodesEndpointsAndRanges) {
  auto l = decode<Listeners>(
      parse_yaml("listen: [127.0.0.1:5353, '[::1]:53', 127.0.0.1:1]\nallow: [10.0.0.0/8, '::1/128']"));
  ASSERT_EQ(l.listen.size(), 3u);
  EXPECT_EQ(l.listen[1].to_string(), "[::1]:53");
  EXPECT_EQ(l.listen[2].port, 1);
  EXPECT_NE(error_of("listen: [127.0.0.1:0]"), "<no error>");
  EXPECT_TRUE(l.allow[0].contains(*IpAddress::parse("10.1.2.3")));
}

TEST(ConfigIp, ErrorsReadLikeTheDesignSaysTheyShould) {
  EXPECT_EQ(error_of("listen: [127.0.0.1:53, 127.0.0.1:70000]"),
            R"(listen[1]: "127.0.0.1:70000" has no valid port (1-65535))");
  auto msg = error_of("allow: [10.0.0.1/8]");
  EXPECT_TRUE(msg.starts_with(R"(allow[0]: "10.0.0.1/8" )")) << msg;
  msg = error_of("listen: [localhost:53]");
  EXPECT_TRUE(msg.starts_with(R"(listen[0]: "localhost:53" )")) << msg;
  EXPECT_EQ(error_of("listen: [53]"),
            R"(listen[0]: 53 is not an address with a port (a string such as "127.0.0.1:53"))");
}

}  // namespace
}  // namespace basalt::core::config
