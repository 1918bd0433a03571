#include "metrics/route_registry.hpp"

#include <gtest/gtest.h>

namespace basalt::proxy {
namespace {

TEST(RouteRegistry, ARouteThatKeepsItsIdKeepsItsSlotAcrossUpdates) {
  RouteRegistry registry;
  std::vector<std::string> first = {"web", "api", "#2"};
  auto a = registry.assign(first);
  std::vector<std::string> second = {"api", "admin", "web"};
  auto b = registry.assign(second);

  EXPECT_EQ(b[0], a[1]);  // api
  EXPECT_EQ(b[2], a[0]);  // web
  EXPECT_NE(b[1], a[0]);
  EXPECT_NE(b[1], a[1]);
  EXPECT_NE(b[1], a[2]);  // a new route never takes a removed route's slot

  const auto& entries = registry.entries();
  EXPECT_TRUE(entries[b[0]].current);
  EXPECT_TRUE(entries[b[1]].current);
  EXPECT_FALSE(entries[a[2]].current);
  EXPECT_EQ(entries[a[2]].id, "#2");
}

TEST(RouteRegistry, IdsBeyondTheCapacityShareTheOverflowSlot) {
  RouteRegistry registry(2);
  std::vector<std::string> ids = {"a", "b", "c", "d"};
  auto slots = registry.assign(ids);
  EXPECT_LT(slots[0], 2u);
  EXPECT_LT(slots[1], 2u);
  EXPECT_EQ(slots[2], registry.overflow_slot());
  EXPECT_EQ(slots[3], registry.overflow_slot());
  EXPECT_EQ(registry.overflowed_ids(), 2u);
  EXPECT_TRUE(registry.overflow_current());
  EXPECT_EQ(registry.entries().size(), 2u);

  std::vector<std::string> known = {"b"};
  EXPECT_EQ(registry.assign(known)[0], slots[1]);
  EXPECT_FALSE(registry.overflow_current());
}

}  // namespace
}  // namespace basalt::proxy
