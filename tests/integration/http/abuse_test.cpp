// HTTP/2 abuse defences, driven with raw frames over TLS (ALPN h2): each
// flood ends in GOAWAY(ENHANCE_YOUR_CALM) for the abuser while other
// clients keep being served.
#include "fixture.hpp"

#include <gtest/gtest.h>

namespace basalt::http::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using basalt::testing::TempDir;

constexpr std::uint32_t kEnhanceYourCalm = 0xb;
constexpr std::uint32_t kRefusedStream = 0x7;

Router hello_router() {
  Router r;
  r.add("/", [](Request) -> asio::awaitable<Response> { co_return Response(200, "hello"); });
  return r;
}

class AbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("curl");
    cert_ = make_cert(dir_, "a.example");
    server_ = std::make_unique<TestServer>(hello_router(), limits_, &cert_);
  }
  void expect_others_served() {
    auto r = curl({"--http2", "--cacert", cert_.cert_file}, server_->url("/"));
    EXPECT_EQ(r.status, 200) << r.stderr_text;
    EXPECT_EQ(r.http_version, "2");
  }
  StatsSnapshot stats() { return server_->server().stats().snapshot(); }

  TempDir dir_;
  TestCert cert_;
  Limits limits_;
  std::unique_ptr<TestServer> server_;
};

std::string rst_cancel() {
  return std::string("\0\0\0\x08", 4);
}

TEST_F(AbuseTest, RapidResetGetsGoaway) {
  RawH2 c(server_->port());
  for (std::uint32_t i = 0; i < 1000; ++i) {
    std::uint32_t id = 2 * i + 1;
    c.send(RawH2::kHeaders, RawH2::kEndHeaders | RawH2::kEndStream, id, RawH2::request_block("GET", "/"));
    c.send(RawH2::kRstStream, 0, id, rst_cancel());
  }
  EXPECT_EQ(c.wait_goaway(), kEnhanceYourCalm);
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(stats().h2_rapid_resets, 1u);
  expect_others_served();
}

TEST_F(AbuseTest, ContinuationFloodGetsGoaway) {
  RawH2 c(server_->port());
  c.send(RawH2::kHeaders, 0, 1, RawH2::request_block("GET", "/"));
  // Each CONTINUATION carries one complete literal header of 1000 bytes.
  std::string field;
  field.push_back(0x00);
  field.push_back(3);
  field.append("x-f");
  field.push_back(0x7f);  // value length 1000 = 127 + 873 (HPACK integer)
  field.push_back(static_cast<char>(0x80 | (873 & 0x7f)));
  field.push_back(static_cast<char>(873 >> 7));
  field.append(1000, 'v');
  for (int i = 0; i < 200; ++i) c.send(RawH2::kContinuation, 0, 1, field);
  EXPECT_EQ(c.wait_goaway(), kEnhanceYourCalm);
  EXPECT_EQ(stats().h2_header_floods, 1u);
  expect_others_served();
}

TEST_F(AbuseTest, HugeHeaderBlockInFewFramesGetsGoaway) {
  RawH2 c(server_->port());
  c.send(RawH2::kHeaders, 0, 1, RawH2::request_block("GET", "/"));
  std::string filler(16000, '\0');  // 16000 bytes of CONTINUATION payload each
  for (int i = 0; i < 6; ++i) c.send(RawH2::kContinuation, 0, 1, filler);
  EXPECT_EQ(c.wait_goaway(), kEnhanceYourCalm);
  EXPECT_EQ(stats().h2_header_floods, 1u);
  expect_others_served();
}

TEST_F(AbuseTest, SettingsFloodGetsGoaway) {
  RawH2 c(server_->port());
  for (int i = 0; i < 1000; ++i) c.send(RawH2::kSettings, 0, 0, "");
  EXPECT_EQ(c.wait_goaway(), kEnhanceYourCalm);
  EXPECT_EQ(stats().h2_settings_floods, 1u);
  expect_others_served();
}

TEST_F(AbuseTest, PingFloodGetsGoaway) {
  RawH2 c(server_->port());
  for (int i = 0; i < 1000; ++i) c.send(RawH2::kPing, 0, 0, "12345678");
  EXPECT_EQ(c.wait_goaway(), kEnhanceYourCalm);
  EXPECT_EQ(stats().h2_ping_floods, 1u);
  expect_others_served();
}

TEST_F(AbuseTest, EmptyDataFloodGetsGoaway) {
  RawH2 c(server_->port());
  c.send(RawH2::kHeaders, RawH2::kEndHeaders, 1, RawH2::request_block("POST", "/"));
  for (int i = 0; i < 1000; ++i) c.send(RawH2::kData, 0, 1, "");
  EXPECT_EQ(c.wait_goaway(), kEnhanceYourCalm);
  EXPECT_EQ(stats().h2_empty_frame_floods, 1u);
  expect_others_served();
}

TEST_F(AbuseTest, StreamsOverTheConcurrencyLimitAreRefused) {
  RawH2 c(server_->port());
  // Open streams that never finish their request (no END_STREAM).
  std::uint32_t n = limits_.max_concurrent_streams + 5;
  for (std::uint32_t i = 0; i < n; ++i) {
    c.send(RawH2::kHeaders, RawH2::kEndHeaders, 2 * i + 1, RawH2::request_block("POST", "/"));
  }
  int refused = 0;
  for (;;) {
    auto f = c.read(2s);
    if (!f) break;
    if (f->type == RawH2::kRstStream && f->payload.size() == 4 &&
        static_cast<std::uint8_t>(f->payload[3]) == kRefusedStream) {
      if (++refused == 5) break;
    }
  }
  EXPECT_EQ(refused, 5);
  expect_others_served();
}

TEST_F(AbuseTest, GarbageAfterPrefaceIsAProtocolError) {
  RawH2 c(server_->port());
  c.send(0x4, 0, 1, "");  // SETTINGS on a stream: PROTOCOL_ERROR
  EXPECT_EQ(c.wait_goaway(), 0x1u);
  expect_others_served();
}

}  // namespace
}  // namespace basalt::http::testing
