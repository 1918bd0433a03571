#include "basalt/core/management/message.hpp"

#include "management/line_splitter.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace basalt::core::management {
namespace {

using Kind = ParsedLine::Kind;

TEST(ManagementMessage, ParsesRequestsLikeTheSmartrustDriverSendsThem) {
  auto p = parse_request(R"({"id":"req_1","method":"start","params":{"config":{"udpPort":53}}})");
  ASSERT_EQ(p.kind, Kind::request);
  EXPECT_EQ(p.request.id, "req_1");
  EXPECT_EQ(p.request.method, "start");
  EXPECT_EQ(p.request.params.at("config").at("udpPort"), 53);

  auto no_params = parse_request("{\"id\": 7, \"method\": \"ping\"}\r");
  ASSERT_EQ(no_params.kind, Kind::request);
  EXPECT_EQ(no_params.request.id, 7);
  EXPECT_TRUE(no_params.request.params.empty());
  EXPECT_EQ(parse_request("   ").kind, Kind::blank);
}

TEST(ManagementMessage, MalformedLinesBecomeErrorsWithTheIdWhenReadable) {
  struct Case {
    std::string line;
    bool has_id;
    std::string error_contains;
  };
  const Case cases[] = {
      {"{not json", false, "malformed JSON"},
      {"[1,2]", false, "must be a JSON object"},
      {R"({"method":"ping"})", false, "no \"id\""},
      {R"({"id":{"x":1},"method":"ping"})", false, "\"id\" must be a string or an integer"},
      {R"({"id":"a"})", true, "no \"method\""},
      {R"({"id":"a","method":5})", true, "\"method\" must be a string"},
      {R"({"id":"a","method":"x","params":[1]})", true, "\"params\" must be an object"},
      {"{\"id\":\"a\",\"method\":\"\xff\"}", false, "malformed JSON"},  // invalid UTF-8
  };
  for (const auto& c : cases) {
    auto p = parse_request(c.line);
    EXPECT_EQ(p.kind, Kind::invalid) << c.line;
    EXPECT_EQ(!p.id.is_null(), c.has_id) << c.line;
    EXPECT_NE(p.error.find(c.error_contains), std::string::npos) << c.line << " -> " << p.error;
  }
}

TEST(ManagementMessage, OutgoingLinesHaveTheProtocolShape) {
  auto ok = boost::json::parse(success_line("req_1", boost::json::object{{"pong", true}}));
  EXPECT_EQ(ok, boost::json::parse(R"({"id":"req_1","success":true,"result":{"pong":true}})"));
  auto err = failure_line(3, "bad \"thing\"\n");
  EXPECT_EQ(err.back(), '\n');
  EXPECT_EQ(err.find('\n'), err.size() - 1);  // escaped: one line only
  EXPECT_EQ(boost::json::parse(err),
            boost::json::parse(R"({"id":3,"success":false,"error":"bad \"thing\"\n"})"));
  EXPECT_EQ(boost::json::parse(stream_line("r", 1)),
            boost::json::parse(R"({"id":"r","stream":true,"data":1})"));
  EXPECT_EQ(boost::json::parse(event_line("ready", boost::json::object())),
            boost::json::parse(R"({"event":"ready","data":{}})"));
}

TEST(LineSplitter, SplitsAcrossChunksAndDropsOverlongLinesOnly) {
  LineSplitter s(8);
  std::vector<std::string> lines;
  int overlong = 0;
  auto on_line = [&](std::string_view l) { lines.emplace_back(l); };
  auto on_long = [&] { ++overlong; };
  s.feed("ab", on_line, on_long);
  s.feed("c\nde", on_line, on_long);
  s.feed("f\n0123456789", on_line, on_long);
  s.feed("abc\nok\n", on_line, on_long);
  EXPECT_EQ(lines, (std::vector<std::string>{"abc", "def", "ok"}));
  EXPECT_EQ(overlong, 1);
  EXPECT_EQ(s.pending(), 0u);
}

}  // namespace
}  // namespace basalt::core::management
