// HTTP/2 abuse defences, driven with raw frames over TLS (ALPN h2): each
// flood ends in GOAWAY(ENHANCE_YOUR_CALM) for the abuser while other
// clients keep being served.
#include "fixture.hpp"

#include <gtest/gtest.h>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <condition_variable>
#include <mutex>
#include <set>

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

// Holds handlers until opened, so requests stay in flight for as long as a
// test needs; handlers run on the server's workers, the test waits on its own
// thread.
class Gate {
 public:
  asio::awaitable<void> wait() {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                      asio::steady_timer::time_point::max());
    bool open = false;
    {
      std::lock_guard lock(mutex_);
      open = open_;
      if (!open) timers_.push_back(timer);
      ++arrived_;
    }
    changed_.notify_all();
    if (!open) {
      boost::system::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    // The cancel runs on the timer's worker, after its handler began waiting.
    for (auto& t : timers_) asio::post(t->get_executor(), [t] { t->cancel(); });
    timers_.clear();
  }
  bool wait_arrived(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return arrived_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<asio::steady_timer>> timers_;
  std::size_t arrived_ = 0;
  bool open_ = false;
};

std::uint32_t be32(std::string_view p, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<std::uint8_t>(p[at + k]);
  return v;
}

// The finding: with 256 requests in flight on a connection whose client had
// acknowledged SETTINGS_MAX_CONCURRENT_STREAMS = 256 (basalt-dns's DoH
// value), a 257th stream ended the connection with GOAWAY(PROTOCOL_ERROR).
// RFC 9113 §5.1.2: only that stream is refused; the 256 are answered and the
// connection takes new streams.
TEST_F(AbuseTest, StreamOverTheAcknowledgedLimitIsRefusedAndTheOthersAreAnswered) {
  Gate gate;
  Router router;
  router.add("/held", [&gate](Request) -> asio::awaitable<Response> {
    co_await gate.wait();
    co_return Response(200, "held");
  });
  Limits limits;
  limits.max_concurrent_streams = 256;
  TestServer s(std::move(router), limits, &cert_);
  RawH2 c(s.port());

  // Acknowledge the server's SETTINGS, as every real client does.
  std::optional<std::uint32_t> advertised;
  for (;;) {
    auto f = c.read();
    ASSERT_TRUE(f.has_value()) << "no SETTINGS from the server";
    if (f->type != RawH2::kSettings || (f->flags & RawH2::kAck)) continue;
    for (std::size_t i = 0; i + 6 <= f->payload.size(); i += 6) {
      if (f->payload[i] == 0 && f->payload[i + 1] == 0x3) advertised = be32(f->payload, i + 2);
    }
    break;
  }
  EXPECT_EQ(advertised, 256u);
  c.send(RawH2::kSettings, RawH2::kAck, 0, "");

  for (std::uint32_t i = 0; i < 256; ++i) {
    c.send(RawH2::kHeaders, RawH2::kEndHeaders | RawH2::kEndStream, 2 * i + 1,
           RawH2::request_block("GET", "/held"));
  }
  ASSERT_TRUE(gate.wait_arrived(256, 10s)) << "the 256 requests did not all reach the handler";
  c.send(RawH2::kHeaders, RawH2::kEndHeaders | RawH2::kEndStream, 513, RawH2::request_block("GET", "/held"));

  std::optional<std::uint32_t> reset_513;
  while (!reset_513) {
    auto f = c.read();
    ASSERT_TRUE(f.has_value()) << "connection ended before stream 513 was refused";
    ASSERT_NE(f->type, RawH2::kGoaway) << "GOAWAY error code " << be32(f->payload, 4);
    if (f->type == RawH2::kRstStream && f->stream == 513) reset_513 = be32(f->payload, 0);
  }
  EXPECT_EQ(*reset_513, kRefusedStream);

  gate.open();
  std::set<std::uint32_t> answered;
  while (answered.size() < 256) {
    auto f = c.read();
    ASSERT_TRUE(f.has_value()) << "connection ended after " << answered.size() << " answers";
    ASSERT_NE(f->type, RawH2::kGoaway) << "GOAWAY error code " << be32(f->payload, 4);
    ASSERT_NE(f->type, RawH2::kRstStream) << "stream " << f->stream << " reset";
    if (f->type == RawH2::kData && (f->flags & RawH2::kEndStream) && f->payload == "held")
      answered.insert(f->stream);
  }
  EXPECT_EQ(*answered.begin(), 1u);
  EXPECT_EQ(*answered.rbegin(), 511u);

  // The same connection serves a new stream.
  c.send(RawH2::kHeaders, RawH2::kEndHeaders | RawH2::kEndStream, 515, RawH2::request_block("GET", "/held"));
  for (;;) {
    auto f = c.read();
    ASSERT_TRUE(f.has_value()) << "no answer on stream 515";
    ASSERT_NE(f->type, RawH2::kGoaway);
    if (f->type == RawH2::kData && f->stream == 515 && (f->flags & RawH2::kEndStream)) break;
  }
  EXPECT_EQ(s.server().stats().snapshot().streams_refused, 1u);
  EXPECT_EQ(s.server().stats().snapshot().h2_protocol_errors, 0u);
}

TEST_F(AbuseTest, GarbageAfterPrefaceIsAProtocolError) {
  RawH2 c(server_->port());
  c.send(0x4, 0, 1, "");  // SETTINGS on a stream: PROTOCOL_ERROR
  EXPECT_EQ(c.wait_goaway(), 0x1u);
  expect_others_served();
}

}  // namespace
}  // namespace basalt::http::testing
