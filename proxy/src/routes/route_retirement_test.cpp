#include "routes/route_retirement.hpp"

#include <gtest/gtest.h>

namespace basalt::proxy {
namespace {

using namespace std::chrono_literals;

TEST(RouteRetirementTest, ARemovedRouteGetsItsGraceAndAReturningOneIsLiveAgain) {
  RetirementRegistry registry;
  auto a = registry.for_route("a");
  auto b = registry.for_route("b");
  EXPECT_FALSE(a->retired());
  EXPECT_EQ(registry.retire_missing({"a", "b"}, 10s), 0u);

  const auto before = RouteRetirement::Clock::now();
  EXPECT_EQ(registry.retire_missing({"a"}, 10s), 1u);
  EXPECT_FALSE(a->retired());
  ASSERT_TRUE(b->retired());
  EXPECT_GE(b->deadline(), before + 10s);
  EXPECT_LE(b->deadline(), RouteRetirement::Clock::now() + 10s);
  // A second update without it does not move the deadline.
  const auto deadline = b->deadline();
  EXPECT_EQ(registry.retire_missing({"a"}, 60s), 0u);
  EXPECT_EQ(b->deadline(), deadline);

  // Back within its grace: the same state, live again.
  EXPECT_EQ(registry.for_route("b"), b);
  EXPECT_FALSE(b->retired());
}

TEST(RouteRetirementTest, IdsWhoseGraceIsOverAreForgotten) {
  RetirementRegistry registry;
  auto old = registry.for_route("old");
  EXPECT_EQ(registry.retire_missing({}, 0s), 1u);
  EXPECT_TRUE(old->retired());
  EXPECT_EQ(registry.retire_missing({}, 0s), 0u);  // forgotten now
  auto again = registry.for_route("old");
  EXPECT_NE(again, old);
  EXPECT_TRUE(old->retired());
  EXPECT_FALSE(again->retired());
}

}  // namespace
}  // namespace basalt::proxy
