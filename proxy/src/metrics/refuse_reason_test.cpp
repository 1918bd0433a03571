#include "metrics/refuse_reason.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace basalt::proxy {
namespace {

TEST(RefuseReason, EveryReasonHasItsOwnNameThatReadsBack) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < kRefuseReasonCount; ++i) {
    auto reason = static_cast<RefuseReason>(i);
    auto name = to_string(reason);
    EXPECT_FALSE(name.empty()) << "reason " << i << " has no name";
    EXPECT_TRUE(names.insert(std::string(name)).second) << name << " is used twice";
    EXPECT_EQ(refuse_reason_from_string(name), reason);
  }
  EXPECT_EQ(to_string(RefuseReason::kNoRoute), "no_route");
  EXPECT_EQ(to_string(RefuseReason::kPortWithoutRoute), "port_without_route");
  EXPECT_FALSE(refuse_reason_from_string("bogus"));
}

}  // namespace
}  // namespace basalt::proxy
