#include "basalt/http/message.hpp"

#include <gtest/gtest.h>

namespace basalt::http {
namespace {

TEST(Request, TargetSplitsIntoPathAndDecodedQuery) {
  Request r;
  r.set_target("/dns-query?dns=AAABAAAB%2Bx&name=a+b&flag&=v&&x=%zz#frag");
  EXPECT_EQ(r.path, "/dns-query");
  EXPECT_EQ(r.target, "/dns-query?dns=AAABAAAB%2Bx&name=a+b&flag&=v&&x=%zz#frag");
  EXPECT_EQ(r.query_param("dns").value_or(""), "AAABAAAB+x");
  EXPECT_EQ(r.query_param("name").value_or(""), "a b");
  EXPECT_EQ(r.query_param("flag").value_or("missing"), "");
  EXPECT_EQ(r.query_param("").value_or(""), "v");
  EXPECT_EQ(r.query_param("x").value_or(""), "%zz");  // invalid escape kept
  EXPECT_FALSE(r.query_param("frag"));
}

TEST(Request, NoQuery) {
  Request r;
  r.set_target("/metrics");
  EXPECT_EQ(r.path, "/metrics");
  EXPECT_TRUE(r.query.empty());
}

TEST(PercentDecode, PlusOnlyInForms) {
  EXPECT_EQ(percent_decode("a+b%20c"), "a+b c");
  EXPECT_EQ(percent_decode("a+b%20c", true), "a b c");
  EXPECT_EQ(percent_decode("%4"), "%4");
  EXPECT_EQ(percent_decode("%"), "%");
}

TEST(Response, TextAndReasons) {
  auto r = Response::text(404, "Not Found");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "Not Found\n");
  EXPECT_EQ(r.headers.get("content-type").value_or(""), "text/plain; charset=utf-8");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(799), "Unknown");
}

}  // namespace
}  // namespace basalt::http
