#include "server/tcp_admission.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace basalt::dns {
namespace {

core::IpAddress ip(const char* text) {
  return *core::IpAddress::parse(text);
}

struct Held {
  std::unique_ptr<TcpAdmission::Ticket> ticket;
  bool closed = false;
};

TEST(TcpAdmissionTest, OneAddressGetsItsShareAndNoMore) {
  auto admission = TcpAdmission::create({.max_connections = 100, .per_address = 3, .per_prefix = 5});
  std::vector<std::unique_ptr<TcpAdmission::Ticket>> held;
  TcpAdmission::Verdict v;
  for (int i = 0; i < 3; ++i)
    held.push_back(admission->admit(
        ip("192.0.2.1"), [] {}, v));
  EXPECT_EQ(v, TcpAdmission::Verdict::kAdmitted);
  EXPECT_EQ(admission->admit(
                ip("192.0.2.1"), [] {}, v),
            nullptr);
  EXPECT_EQ(v, TcpAdmission::Verdict::kAddressFull);
  // The same network from other addresses: up to the prefix share.
  held.push_back(admission->admit(
      ip("192.0.2.2"), [] {}, v));
  held.push_back(admission->admit(
      ip("::ffff:192.0.2.3"), [] {}, v));  // a mapped address is the same network
  EXPECT_EQ(admission->admit(
                ip("192.0.2.4"), [] {}, v),
            nullptr);
  EXPECT_EQ(v, TcpAdmission::Verdict::kPrefixFull);
  // Another network is not affected; a closed connection gives its slot back.
  held.push_back(admission->admit(
      ip("192.0.3.1"), [] {}, v));
  EXPECT_NE(held.back(), nullptr);
  held.erase(held.begin());
  held.push_back(admission->admit(
      ip("192.0.2.1"), [] {}, v));
  EXPECT_NE(held.back(), nullptr);
  EXPECT_EQ(admission->open(), 6u);
}

TEST(TcpAdmissionTest, IPv6NetworksAreSlash56ByDefault) {
  auto admission = TcpAdmission::create({.max_connections = 100, .per_address = 10, .per_prefix = 2});
  TcpAdmission::Verdict v;
  auto a = admission->admit(
      ip("2001:db8:0:1::1"), [] {}, v);
  auto b = admission->admit(
      ip("2001:db8:0:ff::2"), [] {}, v);  // same /56
  EXPECT_EQ(admission->admit(
                ip("2001:db8:0:1::3"), [] {}, v),
            nullptr);
  EXPECT_EQ(v, TcpAdmission::Verdict::kPrefixFull);
  EXPECT_NE(admission->admit(
                ip("2001:db8:0:100::1"), [] {}, v),
            nullptr);  // the next /56
}

TEST(TcpAdmissionTest, WhenFullTheOldestIdleConnectionOfTheHeaviestNetworkMakesRoom) {
  auto admission = TcpAdmission::create({.max_connections = 5, .per_address = 5, .per_prefix = 5});
  TcpAdmission::Verdict v;
  std::vector<Held> heavy(3), light(2);
  for (auto& h : heavy)
    h.ticket = admission->admit(
        ip("198.51.100.7"), [&h] { h.closed = true; }, v);
  for (auto& h : light)
    h.ticket = admission->admit(
        ip("203.0.113.9"), [&h] { h.closed = true; }, v);
  // Nobody idle: the newcomer is refused.
  EXPECT_EQ(admission->admit(
                ip("192.0.2.1"), [] {}, v),
            nullptr);
  EXPECT_EQ(v, TcpAdmission::Verdict::kServerFull);
  // The light network's idle connection is not taken while the heavy one has one.
  light[0].ticket->set_idle(true);
  heavy[2].ticket->set_idle(true);
  heavy[1].ticket->set_idle(true);
  auto newcomer = admission->admit(
      ip("192.0.2.1"), [] {}, v);
  ASSERT_NE(newcomer, nullptr);
  EXPECT_TRUE(heavy[1].closed);  // the oldest idle one of the heaviest network
  EXPECT_FALSE(heavy[2].closed);
  EXPECT_FALSE(light[0].closed);
  EXPECT_EQ(admission->open(), 5u);
  EXPECT_EQ(admission->evicted(), 1u);
  heavy[1].ticket.reset();  // its connection ends later: the slot is not given back twice
  EXPECT_EQ(admission->open(), 5u);
}

}  // namespace
}  // namespace basalt::dns
