#include "basalt/core/ip.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <unordered_set>

#include "basalt/core/ip_asio.hpp"

#include <boost/asio/ip/udp.hpp>

namespace basalt::core {
namespace {

IpAddress ip(std::string_view s) {
  auto a = IpAddress::parse(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(IpAddress{});
}

std::string parse_error(std::string_view s) {
  std::string error;
  EXPECT_FALSE(IpAddress::parse(s, &error)) << s;
  return error;
}

TEST(IpAddress, ParsesAndFormatsIpv4) {
  for (const char* s : {"0.0.0.0", "127.0.0.1", "192.0.2.255", "255.255.255.255", "10.20.30.40"}) {
    auto a = IpAddress::parse(s);
    ASSERT_TRUE(a) << s;
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(a->to_string(), s);
  }
  EXPECT_EQ(ip("192.0.2.1").v4_value(), 0xc0000201u);
  EXPECT_EQ(IpAddress::v4(0xc0000201u), ip("192.0.2.1"));
  EXPECT_EQ(ip("192.0.2.1").bytes().size(), 4u);
}

TEST(IpAddress, RejectsMalformedIpv4) {
  for (const char* s : {"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "01.2.3.4", "1.2.3.04",
                        "1..3.4", "1.2.3.4.", ".1.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/8", "0x7f.0.0.1",
                        "localhost", "1.2.3.4a", "4294967296.1.1.1", "1.2.3.99999999999"}) {
    EXPECT_EQ(parse_error(s), "is not an IP address") << s;
  }
}

TEST(IpAddress, FormatsIpv6CanonicallyPerRfc5952) {
  const std::pair<const char*, const char*> cases[] = {
      {"2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // first of two equal runs
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // longest run wins
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"2001:DB8::AbCd", "2001:db8::abcd"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"fe80::0:1", "fe80::1"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
      {"1:2:3:4:5:6::", "1:2:3:4:5:6::"},
      {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},  // "::" never stands for one group
      {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
      {"1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"},
      {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
      {"::FFFF:c000:0201", "::ffff:192.0.2.1"},
      {"::192.0.2.1", "::c000:201"},  // deprecated IPv4-compatible: plain hex
      {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
      {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
  };
  for (auto [in, out] : cases) {
    auto a = IpAddress::parse(in);
    ASSERT_TRUE(a) << in;
    EXPECT_TRUE(a->is_v6());
    EXPECT_EQ(a->to_string(), out) << in;
    EXPECT_EQ(IpAddress::parse(out), a) << out;  // round trip
  }
}

TEST(IpAddress, RejectsMalformedIpv6) {
  for (const char* s :
       {":", ":::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "1:::2", "12345::", "g::1",
        "::1:", ":1::", "1:2:3:4:5:6:7:8::", "1::2:3:4:5:6:7:8", "::1.2.3", "::1.2.3.4:5",
        "1:2:3:4:5:6:7:1.2.3.4", "[::1]", "::1 ", "::ffff:256.1.1.1", "::ffff:01.1.1.1"}) {
    EXPECT_EQ(parse_error(s), "is not an IP address") << s;
  }
}

TEST(IpAddress, ParsesScopeIds) {
  auto a = ip("fe80::1%7");
  EXPECT_EQ(a.scope_id(), 7u);
  EXPECT_EQ(a.to_string(), "fe80::1%7");
  EXPECT_NE(a, ip("fe80::1"));
  const unsigned lo = if_nametoindex("lo");
  if (lo != 0) {
    EXPECT_EQ(ip("fe80::1%lo").scope_id(), lo);
  }
  EXPECT_EQ(parse_error("fe80::1%"), "has an empty IPv6 zone after '%'");
  EXPECT_EQ(parse_error("fe80::1%no-such-interface0"), "has an unknown IPv6 zone");
  EXPECT_EQ(parse_error("1.2.3.4%1"), "is not an IP address");
}

TEST(IpAddress, MappedAddressesAndClassification) {
  auto mapped = ip("::ffff:10.1.2.3");
  EXPECT_TRUE(mapped.is_v4_mapped());
  EXPECT_EQ(mapped.unmapped(), ip("10.1.2.3"));
  EXPECT_EQ(ip("10.1.2.3").to_v6(), mapped);
  EXPECT_EQ(ip("::1").unmapped(), ip("::1"));
  EXPECT_NE(mapped, ip("10.1.2.3"));  // distinct values...

  EXPECT_TRUE(ip("127.8.9.10").is_loopback());
  EXPECT_TRUE(ip("::ffff:127.0.0.1").is_loopback());
  EXPECT_TRUE(ip("::1").is_loopback());
  EXPECT_FALSE(ip("::2").is_loopback());
  EXPECT_TRUE(ip("0.0.0.0").is_unspecified());
  EXPECT_TRUE(ip("::").is_unspecified());
  EXPECT_TRUE(ip("224.0.0.251").is_multicast());
  EXPECT_TRUE(ip("ff02::fb").is_multicast());
  EXPECT_TRUE(ip("169.254.1.1").is_link_local());
  EXPECT_TRUE(ip("febf::1").is_link_local());
  EXPECT_FALSE(ip("fec0::1").is_link_local());
  EXPECT_EQ(IpAddress{}, IpAddress::v4_any());
  EXPECT_EQ(IpAddress::v6_loopback().to_string(), "::1");
}

TEST(IpAddress, OrderingAndHashing) {
  EXPECT_LT(ip("1.2.3.4"), ip("1.2.3.5"));
  EXPECT_LT(ip("255.255.255.255"), ip("::"));  // IPv4 sorts first
  std::unordered_set<IpAddress> set{ip("1.2.3.4"), ip("::1"), ip("1.2.3.4"), ip("::ffff:1.2.3.4")};
  EXPECT_EQ(set.size(), 3u);
}

TEST(Cidr, ParsesPrefixesAndBareAddresses) {
  auto c = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix_length(), 8);
  EXPECT_EQ(c->to_string(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::parse("192.0.2.7")->to_string(), "192.0.2.7/32");
  EXPECT_EQ(Cidr::parse("::1")->to_string(), "::1/128");
  EXPECT_EQ(Cidr::parse("2001:DB8::/32")->to_string(), "2001:db8::/32");
  EXPECT_EQ(Cidr::parse("0.0.0.0/0")->to_string(), "0.0.0.0/0");
  EXPECT_EQ(Cidr::parse("::/0")->to_string(), "::/0");
  EXPECT_EQ(Cidr::parse("::ffff:0:0/96")->to_string(), "::ffff:0.0.0.0/96");
}

TEST(Cidr, ErrorsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"10.1.2.3/8", "has host bits set (did you mean 10.0.0.0/8?)"},
      {"2001:db8::1/32", "has host bits set (did you mean 2001:db8::/32?)"},
      {"10.0.0.0/33", "has no valid prefix length (0-32)"},
      {"::/129", "has no valid prefix length (0-128)"},
      {"10.0.0.0/", "has no valid prefix length (0-32)"},
      {"10.0.0.0/08", "has no valid prefix length (0-32)"},
      {"10.0.0.0/+8", "has no valid prefix length (0-32)"},
      {"10.0.0.0/8/8", "has no valid prefix length (0-32)"},
      {"10.0.0/8", "is not an IP address"},
      {"/8", "is not an IP address"},
      {"example.com/8", "is not an IP address"},
      {"fe80::%1/64", "has an IPv6 zone, which a prefix cannot have"},
  };
  for (auto [text, why] : cases) {
    std::string error;
    EXPECT_FALSE(Cidr::parse(text, &error)) << text;
    EXPECT_EQ(error, why) << text;
  }
  auto lenient = Cidr::parse("10.1.2.3/8", nullptr, /*allow_host_bits=*/true);
  ASSERT_TRUE(lenient);
  EXPECT_EQ(lenient->to_string(), "10.0.0.0/8");
}

TEST(Cidr, Contains) {
  auto c = *Cidr::parse("10.0.0.0/8");
  EXPECT_TRUE(c.contains(ip("10.0.0.0")));
  EXPECT_TRUE(c.contains(ip("10.255.255.255")));
  EXPECT_FALSE(c.contains(ip("11.0.0.0")));
  EXPECT_FALSE(c.contains(ip("9.255.255.255")));
  EXPECT_FALSE(c.contains(ip("::a00:1")));  // IPv4-compatible is not mapped
  auto odd = *Cidr::parse("192.0.2.128/25");
  EXPECT_TRUE(odd.contains(ip("192.0.2.200")));
  EXPECT_FALSE(odd.contains(ip("192.0.2.127")));
  auto v6 = *Cidr::parse("2001:db8::/29");
  EXPECT_TRUE(v6.contains(ip("2001:dbf:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("2001:dc0::")));
  EXPECT_FALSE(v6.contains(ip("10.0.0.1")));
  EXPECT_TRUE(Cidr::parse("::/0")->contains(ip("1.2.3.4")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(ip("1.2.3.4")));
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0")->contains(ip("::1")));
  EXPECT_TRUE(Cidr::parse("::1")->contains(ip("::1%3")));  // scope ignored
}

TEST(Cidr, MappedClientsMatchIpv4Prefixes) {
  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
  auto c = *Cidr::parse("192.168.0.0/16");
  EXPECT_TRUE(c.contains(ip("::ffff:192.168.3.4")));
  EXPECT_FALSE(c.contains(ip("::ffff:192.169.3.4")));
  auto mapped_prefix = *Cidr::parse("::ffff:192.168.0.0/112");
  EXPECT_TRUE(mapped_prefix.contains(ip("192.168.3.4")));
  EXPECT_TRUE(Cidr::parse("::ffff:0:0/96")->contains(ip("8.8.8.8")));
}

TEST(Cidr, ConstructorMasksAndClamps) {
  Cidr c(ip("10.1.2.3"), 12);
  EXPECT_EQ(c.to_string(), "10.0.0.0/12");
  EXPECT_EQ(Cidr(ip("10.1.2.3"), 99).to_string(), "10.1.2.3/32");
  EXPECT_EQ(Cidr(ip("ffff::1"), -3).to_string(), "::/0");
  EXPECT_EQ(Cidr(ip("fe80::1%4"), 10).to_string(), "fe80::/10");
  EXPECT_EQ(Cidr(), *Cidr::parse("0.0.0.0/0"));
}

TEST(IpEndpoint, ParsesAddressAndPort) {
  auto e = Endpoint::parse("127.0.0.1:5353");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->address, ip("127.0.0.1"));
  EXPECT_EQ(e->port, 5353);
  EXPECT_EQ(e->to_string(), "127.0.0.1:5353");
  auto e6 = Endpoint::parse("[::1]:5353");
  ASSERT_TRUE(e6);
  EXPECT_EQ(e6->address, ip("::1"));
  EXPECT_EQ(e6->to_string(), "[::1]:5353");
  EXPECT_EQ(Endpoint::parse("[fe80::1%2]:53")->to_string(), "[fe80::1%2]:53");
  EXPECT_EQ(Endpoint::parse("[2001:DB8::1]:65535")->to_string(), "[2001:db8::1]:65535");
  EXPECT_EQ(Endpoint::parse("1.2.3.4:1")->port, 1);
}

TEST(IpEndpoint, DefaultPortAndPortZero) {
  EndpointParseOptions o{.default_port = 53};
  EXPECT_EQ(Endpoint::parse("192.0.2.1", nullptr, o)->to_string(), "192.0.2.1:53");
  EXPECT_EQ(Endpoint::parse("::1", nullptr, o)->to_string(), "[::1]:53");
  EXPECT_EQ(Endpoint::parse("[::1]", nullptr, o)->to_string(), "[::1]:53");
  // Without brackets every colon belongs to the address.
  EXPECT_EQ(Endpoint::parse("::1:53", nullptr, o)->to_string(), "[::1:53]:53");
  EXPECT_EQ(Endpoint::parse("192.0.2.1:54", nullptr, o)->port, 54);
  EXPECT_EQ(Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})->port, 0);
}

TEST(IpEndpoint, ErrorsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"127.0.0.1:70000", "has no valid port (1-65535)"},
      {"127.0.0.1:0", "has no valid port (1-65535)"},
      {"127.0.0.1:", "has no valid port (1-65535)"},
      {"127.0.0.1:53x", "has no valid port (1-65535)"},
      {"127.0.0.1:-1", "has no valid port (1-65535)"},
      {"127.0.0.1:053", "has no valid port (1-65535)"},
      {"[::1]:99999", "has no valid port (1-65535)"},
      {"localhost:53", "is not an IP address"},
      {"example.com", "is not an IP address"},
      {"", "is not an IP address"},
      {":53", "is not an IP address"},
      {"[::1", "is not an IP address"},
      {"[::1]53", "is not an IP address"},
      {"[1.2.3.4]:53", "is not an IP address"},
      {"[]:53", "is not an IP address"},
      {"127.0.0.1", "has no port"},
      {"[::1]", "has no port"},
      {"::1", "has no port (write IPv6 with a port as [address]:port)"},
      {"::1:53", "has no port (write IPv6 with a port as [address]:port)"},
  };
  for (auto [text, why] : cases) {
    std::string error;
    EXPECT_FALSE(Endpoint::parse(text, &error)) << text;
    EXPECT_EQ(error, why) << text;
  }
  std::string error;
  EXPECT_FALSE(Endpoint::parse("127.0.0.1:70000", &error, {.allow_port_zero = true}));
  EXPECT_EQ(error, "has no valid port (0-65535)");
}

TEST(IpEndpoint, SockaddrRoundTrip) {
  for (const char* s : {"192.0.2.1:53", "[2001:db8::1]:853", "[fe80::1%3]:5353", "[::ffff:10.0.0.1]:80"}) {
    auto e = *Endpoint::parse(s);
    sockaddr_storage ss;
    socklen_t len = e.to_sockaddr(ss);
    EXPECT_EQ(len, e.address.is_v4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    auto back = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, e) << s;
    EXPECT_EQ(Endpoint::from_sockaddr(ss), e);
  }
  auto e = *Endpoint::parse("192.0.2.1:53");
  sockaddr_storage ss;
  e.to_sockaddr(ss);
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  EXPECT_EQ(in->sin_family, AF_INET);
  EXPECT_EQ(ntohs(in->sin_port), 53);
  EXPECT_EQ(ntohl(in->sin_addr.s_addr), 0xc0000201u);
  EXPECT_FALSE(Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), 4));  // truncated
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(Endpoint::from_sockaddr(ss));
  EXPECT_FALSE(Endpoint::from_sockaddr(nullptr, 0));
  EXPECT_EQ(Endpoint::parse("[::ffff:10.0.0.1]:80")->unmapped().to_string(), "10.0.0.1:80");
}

TEST(IpEndpoint, RealSocketReportsMappedPeer) {
  // A dual-stack UDP socket sees an IPv4 sender as ::ffff:127.0.0.1, which
  // must match a 127.0.0.0/8 ACL.
  int s6 = ::socket(AF_INET6, SOCK_DGRAM, 0);
  if (s6 < 0) GTEST_SKIP() << "no IPv6 sockets on this machine";
  int off = 0;
  ASSERT_EQ(::setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off), 0);
  sockaddr_storage ss;
  socklen_t len = Endpoint{IpAddress::v6_any(), 0}.to_sockaddr(ss);
  if (::bind(s6, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(s6);
    GTEST_SKIP() << "cannot bind a dual-stack socket here";
  }
  len = sizeof ss;
  ASSERT_EQ(::getsockname(s6, reinterpret_cast<sockaddr*>(&ss), &len), 0);
  const auto port = Endpoint::from_sockaddr(ss)->port;

  int s4 = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(s4, 0);
  len = Endpoint{IpAddress::v4_loopback(), port}.to_sockaddr(ss);
  ASSERT_EQ(::sendto(s4, "x", 1, 0, reinterpret_cast<sockaddr*>(&ss), len), 1);
  char buf[4];
  sockaddr_storage peer;
  socklen_t peer_len = sizeof peer;
  ASSERT_EQ(::recvfrom(s6, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &peer_len), 1);
  auto from = Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), peer_len);
  ASSERT_TRUE(from);
  EXPECT_TRUE(from->address.is_v4_mapped());
  EXPECT_TRUE(Cidr::parse("127.0.0.0/8")->contains(from->address));
  EXPECT_EQ(from->unmapped().address, IpAddress::v4_loopback());
  ::close(s4);
  ::close(s6);
}

TEST(IpAsio, ConversionsAreLossless) {
  for (const char* s : {"192.0.2.1:53", "[2001:db8::1]:853", "[fe80::1%3]:5353"}) {
    auto e = *Endpoint::parse(s);
    auto ae = to_asio<boost::asio::ip::udp>(e);
    EXPECT_EQ(from_asio(ae), e);
    EXPECT_EQ(from_asio(to_asio(e.address)), e.address);
  }
  EXPECT_EQ(to_asio(*IpAddress::parse("2001:db8::1")).to_string(), "2001:db8::1");
}

}  // namespace
}  // namespace basalt::core
