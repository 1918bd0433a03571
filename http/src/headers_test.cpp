#include "basalt/http/headers.hpp"

#include <gtest/gtest.h>

namespace basalt::http {
namespace {

TEST(Headers, LookupIgnoresCaseAndKeepsOrderAndRepeats) {
  Headers h{{"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}};
  EXPECT_EQ(h.get("content-type").value_or(""), "text/plain");
  EXPECT_EQ(h.get("CONTENT-TYPE").value_or(""), "text/plain");
  EXPECT_FALSE(h.get("content-length"));
  EXPECT_EQ(h.get_all("SET-COOKIE"), (std::vector<std::string_view>{"a=1", "b=2"}));
  EXPECT_EQ(h.begin()->name, "Content-Type");  // names kept as given
}

TEST(Headers, SetReplacesEveryRepeatAndEraseCounts) {
  Headers h{{"a", "1"}, {"A", "2"}, {"b", "3"}};
  h.set("a", "9");
  EXPECT_EQ(h.get_all("a"), (std::vector<std::string_view>{"9"}));
  EXPECT_EQ(h.erase("B"), 1u);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.byte_size(), 2u);
}

TEST(Headers, Iequals) {
  EXPECT_TRUE(iequals("Host", "hOST"));
  EXPECT_FALSE(iequals("Host", "Hosts"));
  EXPECT_FALSE(iequals("a", "\xc1"));
}

}  // namespace
}  // namespace basalt::http
