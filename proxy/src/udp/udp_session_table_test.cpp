#include "udp/udp_session_table.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace basalt::proxy {
namespace {

sockaddr_storage v4(const char* address, std::uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in&>(s);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address, &a.sin_addr);
  return s;
}

sockaddr_storage v6(const char* address, std::uint16_t port) {
  sockaddr_storage s{};
  auto& a = reinterpret_cast<sockaddr_in6&>(s);
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  ::inet_pton(AF_INET6, address, &a.sin6_addr);
  return s;
}

TEST(UdpSessionKey, ClientAndListenerMakeTheKey) {
  const auto a = UdpSessionKey::of(1, v4("192.0.2.1", 5000));
  EXPECT_EQ(a, UdpSessionKey::of(1, v4("192.0.2.1", 5000)));
  EXPECT_NE(a, UdpSessionKey::of(1, v4("192.0.2.1", 5001))) << "another port is another client";
  EXPECT_NE(a, UdpSessionKey::of(1, v4("192.0.2.2", 5000)));
  EXPECT_NE(a, UdpSessionKey::of(2, v4("192.0.2.1", 5000))) << "another listening socket";
  EXPECT_NE(UdpSessionKey::of(1, v6("2001:db8::1", 53)), UdpSessionKey::of(1, v6("2001:db8::2", 53)));
  EXPECT_EQ(UdpSessionKey::of(1, v6("2001:db8::1", 53)).port, 53);
}

TEST(UdpSessionTable, FindInsertEraseSweepAndBound) {
  boost::asio::io_context io;
  UdpSessionTable table(3);
  auto make = [&](std::uint16_t port) {
    return std::make_shared<UdpSession>(io, UdpSessionKey::of(1, v4("192.0.2.1", port)));
  };
  auto s1 = make(1), s2 = make(2), s3 = make(3);
  EXPECT_TRUE(table.insert(s1));
  EXPECT_FALSE(table.insert(make(1))) << "the key is taken";
  EXPECT_TRUE(table.insert(s2));
  EXPECT_TRUE(table.insert(s3));
  EXPECT_FALSE(table.insert(make(4))) << "full";
  EXPECT_EQ(table.find(s2->key), s2.get());
  EXPECT_EQ(table.find(make(9)->key), nullptr);

  const auto now = UdpSession::Clock::now();
  s1->last_activity = now - std::chrono::seconds(10);
  s2->last_activity = now;
  s3->last_activity = now - std::chrono::seconds(10);
  auto expired =
      table.sweep([&](const UdpSession& s) { return now - s.last_activity > std::chrono::seconds(5); });
  EXPECT_EQ(expired.size(), 2u);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.erase(s2->key), s2);
  EXPECT_EQ(table.erase(s2->key), nullptr);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_TRUE(table.insert(make(4)));
  EXPECT_EQ(table.take_all().size(), 1u);
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace basalt::proxy
