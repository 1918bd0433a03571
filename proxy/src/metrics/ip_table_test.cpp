#include "metrics/ip_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

namespace basalt::proxy {
namespace {

core::IpAddress ip(std::uint32_t n) {
  return core::IpAddress::v4(0x0a000000u + n);
}

std::map<std::string, IpSample> by_address(const IpTable& table) {
  std::map<std::string, IpSample> out;
  for (const auto& s : table.sample(0, 0)) out[s.ip.to_string()] = s;
  return out;
}

TEST(IpTable, CountsConnectionsPerAddressAndFoldsMappedIpv4) {
  IpTable table(16);
  auto& a = table.open(*core::IpAddress::parse("192.0.2.1"));
  auto& b = table.open(*core::IpAddress::parse("::ffff:192.0.2.1"));
  EXPECT_EQ(&a, &b);
  table.open(*core::IpAddress::parse("2001:db8::1"));
  table.close(a);

  auto seen = by_address(table);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["192.0.2.1"].active, 1u);
  EXPECT_EQ(seen["192.0.2.1"].total, 2u);
  EXPECT_EQ(seen["2001:db8::1"].active, 1u);
}

TEST(IpTable, AFullTableEvictsTheIdleAddressWithTheFewestBytes) {
  IpTable table(4);
  for (std::uint32_t i = 0; i < 4; ++i) {
    auto& e = table.open(ip(i));
    e.add_bytes(100, 1000 * (i + 1), 0);
    if (i != 2) table.close(e);  // 10.0.0.2 keeps a connection open
  }
  // 10.0.0.0 moved the fewest bytes of the idle ones.
  table.open(ip(10));
  auto seen = by_address(table);
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_FALSE(seen.contains("10.0.0.0"));
  EXPECT_TRUE(seen.contains("10.0.0.10"));
  EXPECT_TRUE(seen.contains("10.0.0.2"));
  EXPECT_EQ(table.evictions(), 1u);
  // The evicted address starts from zero when it comes back.
  table.open(ip(0));
  seen = by_address(table);
  EXPECT_EQ(seen["10.0.0.0"].total, 1u);
  EXPECT_EQ(seen["10.0.0.0"].bytes_in, 0u);
}

TEST(IpTable, AFloodOfNewAddressesStaysWithinTheBoundAndOverflowsIntoOther) {
  IpTable table(64);
  std::vector<IpEntry*> open;
  for (std::uint32_t i = 0; i < 100000; ++i) {
    auto& e = table.open(ip(i));
    if (i % 2 == 0) {
      table.close(e);  // half the flood closes at once
    } else {
      open.push_back(&e);
    }
  }
  auto samples = table.sample(0, 0);
  EXPECT_EQ(samples.size(), 64u);
  // Every slot holds an open connection now; the rest went to "other".
  for (const auto& s : samples) EXPECT_EQ(s.active, 1u);
  auto other = table.other(0, 0);
  EXPECT_EQ(other.active, 50000u - 64u);
  EXPECT_EQ(table.overflows(), other.total);
  EXPECT_GT(table.evictions(), 0u);

  // Closing everything leaves addresses that can be looked up again.
  for (auto* e : open) table.close(*e);
  EXPECT_EQ(table.other(0, 0).active, 0u);
  auto& again = table.open(samples.front().ip);
  EXPECT_EQ(again.total.load(), 2u);
}

TEST(IpTable, LookupsSurviveEvictionsInTheMiddleOfProbeChains) {
  IpTable table(32);
  // Many rounds of evict-and-insert exercise the index's deletion; every
  // address must still be found as itself afterwards.
  for (std::uint32_t round = 0; round < 50; ++round) {
    for (std::uint32_t i = 0; i < 32; ++i) table.close(table.open(ip(round * 32 + i)));
  }
  for (const auto& s : table.sample(0, 0)) {
    auto before = s.total;
    auto& e = table.open(s.ip);
    EXPECT_EQ(e.total.load(), before + 1) << s.ip.to_string();
    table.close(e);
  }
  EXPECT_EQ(table.overflows(), 0u);
}

TEST(IpTable, ZeroCapacityCountsEverythingAsOther) {
  IpTable table(0);
  auto& e = table.open(ip(1));
  EXPECT_TRUE(table.sample(0, 0).empty());
  EXPECT_EQ(table.other(0, 0).active, 1u);
  table.close(e);
}

TEST(IpTable, AReaderNeverSeesOneAddressWithAnothersCounters) {
  // The writer keeps replacing addresses; each address n always carries n
  // bytes in. A reader on another thread must only ever see that pairing.
  IpTable table(8);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint32_t n = 1; n <= 200000; ++n) {
      auto& e = table.open(ip(n));
      e.add_bytes(1, n, 0);
      table.close(e);
    }
    done = true;
  });
  std::uint64_t checked = 0;
  while (!done) {
    for (const auto& s : table.sample(0, 10)) {
      // Opened, then given its bytes: a reader may catch the gap (0 bytes).
      auto n = s.ip.v4_value() - 0x0a000000u;
      if (s.bytes_in != 0 && s.bytes_in != n) {
        ADD_FAILURE() << s.ip.to_string() << " shown with " << s.bytes_in << " bytes";
      }
      ++checked;
    }
  }
  writer.join();
  EXPECT_EQ(table.sample(0, 10).size(), 8u);
  EXPECT_GT(checked, 0u);
}

}  // namespace
}  // namespace basalt::proxy
