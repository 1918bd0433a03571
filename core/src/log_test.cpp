#include "basalt/core/log.hpp"

#include <gtest/gtest.h>

namespace basalt::core {
namespace {

TEST(LogLevel, ParsesNamesInAnyCaseAndRejectsOthers) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_EQ(parse_log_level("INFO"), LogLevel::info);
  EXPECT_EQ(parse_log_level("Warning"), LogLevel::warn);
  EXPECT_EQ(parse_log_level("off"), LogLevel::off);
  EXPECT_FALSE(parse_log_level("verbose"));
  EXPECT_FALSE(parse_log_level(""));
  for (auto l : {LogLevel::trace, LogLevel::error}) EXPECT_EQ(parse_log_level(to_string(l)), l);
}

}  // namespace
}  // namespace basalt::core
