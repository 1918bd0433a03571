#include "routes/ip_pattern.hpp"

#include <gtest/gtest.h>

namespace basalt::proxy {
namespace {

core::IpAddress ip(std::string_view text) {
  return *core::IpAddress::parse(text);
}

IpPatternList compile(const std::vector<std::string>& patterns) {
  std::string error;
  auto list = IpPatternList::compile(patterns, &error);
  EXPECT_TRUE(list) << error;
  return list.value_or(IpPatternList{});
}

TEST(IpPatternList, MatchesAddressesPrefixesAndGlobs) {
  auto list = compile({"127.0.0.1", "::1", "10.0.0.0/8", "192.168.*", "172.16.*.1", "2001:db8::*"});
  EXPECT_TRUE(list.matches(ip("127.0.0.1")));
  EXPECT_FALSE(list.matches(ip("127.0.0.2")));
  EXPECT_TRUE(list.matches(ip("::1")));
  EXPECT_TRUE(list.matches(ip("10.200.3.4")));
  EXPECT_FALSE(list.matches(ip("11.0.0.1")));
  EXPECT_TRUE(list.matches(ip("192.168.77.3")));
  EXPECT_FALSE(list.matches(ip("192.169.0.1")));
  EXPECT_TRUE(list.matches(ip("172.16.9.1")));
  EXPECT_FALSE(list.matches(ip("172.16.9.2")));
  EXPECT_TRUE(list.matches(ip("2001:db8::42")));
  EXPECT_FALSE(list.matches(ip("2001:db9::42")));
}

TEST(IpPatternList, MappedClientsMatchIpv4Patterns) {
  auto list = compile({"127.0.0.1", "10.0.0.0/8", "192.168.*"});
  EXPECT_TRUE(list.matches(ip("::ffff:127.0.0.1")));
  EXPECT_TRUE(list.matches(ip("::ffff:10.1.2.3")));
  EXPECT_TRUE(list.matches(ip("::ffff:192.168.1.1")));
  EXPECT_FALSE(list.matches(ip("::ffff:192.169.1.1")));
}

TEST(IpPatternList, GlobsSeeCanonicalIpv6Text) {
  // Written by the client as 2001:0db8:0:0:0:0:0:5, seen as 2001:db8::5.
  auto list = compile({"2001:db8::5", "fe80::*"});
  EXPECT_TRUE(list.matches(ip("2001:0db8:0:0:0:0:0:5")));
  EXPECT_TRUE(list.matches(ip("fe80::1:2")));
  EXPECT_FALSE(list.matches(ip("fe81::1")));
}

TEST(IpPatternList, EmptyListMatchesNothing) {
  IpPatternList list = compile({});
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.matches(ip("127.0.0.1")));
}

TEST(IpPatternList, BadPatternsNameTheIndexAndReason) {
  std::string error;
  std::size_t index = 99;
  EXPECT_FALSE(IpPatternList::compile({"10.0.0.0/8", "example.com"}, &error, &index));
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(error, "is not an IP address, a CIDR prefix or a glob such as 192.168.*");

  EXPECT_FALSE(IpPatternList::compile({"10.1.2.3/8"}, &error, &index));
  EXPECT_EQ(index, 0u);
  EXPECT_EQ(error, "has host bits set (did you mean 10.0.0.0/8?)");

  EXPECT_FALSE(IpPatternList::compile({"10.0.0.0/33"}, &error, &index));
  EXPECT_FALSE(IpPatternList::compile({"*.example.com"}, &error, &index));
}

}  // namespace
}  // namespace basalt::proxy
