// HTTP/2 streaming against real peers and raw frames: 64 MiB up and down
// through curl with bounded server memory, the flow-control rule (no
// WINDOW_UPDATE until the handler reads), a client that does not read
// stalling its handler, trailers both ways and RFC 8441 / plain CONNECT
// tunnels through Node's http2 client, and resets reaching the handler.
#include "fixture.hpp"

#include "basalt/http/body.hpp"
#include "basalt/testing/memory.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <future>
#include <mutex>

namespace basalt::http::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using basalt::testing::Process;
using basalt::testing::TempDir;
using boost::system::error_code;

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::uint8_t kWindowUpdate = 8;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, md, &n);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
      out.push_back(digits[md[i] >> 4]);
      out.push_back(digits[md[i] & 15]);
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Block `k` of the test data: 1 MiB of pseudo-random bytes, the block
// number in front so that a lost, repeated or reordered block changes the hash.
std::string block(std::uint64_t k) {
  static const std::string base = [] {
    std::string b(kMiB, '\0');
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (auto& c : b) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      c = static_cast<char>(x);
    }
    return b;
  }();
  std::string b = base;
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(k >> (8 * i));
  return b;
}

std::string expected_hash(std::uint64_t blocks) {
  Sha256 sha;
  for (std::uint64_t k = 0; k < blocks; ++k) sha.update(block(k));
  return sha.hex();
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// What the handlers report back to the test thread.
struct Shared {
  std::atomic<bool> release{false};  // /hold starts reading
  std::mutex mutex;
  std::optional<std::promise<error_code>> read_error;  // /watch: how its body read ended
  std::optional<std::promise<std::pair<error_code, std::uint64_t>>> write_error;  // /stall
};

// Reads the body to its end or error; "<bytes> <sha256>". With ?slow=1
// it pauses 20 ms per MiB: a handler slower than its client.
asio::awaitable<void> count_body(ServerRequest req, ResponseWriter& res) {
  bool slow = req.query_param("slow").value_or("0") == "1";
  Sha256 sha;
  std::uint64_t n = 0;
  error_code ec;
  for (;;) {
    std::string chunk = co_await req.body->read(ec);
    if (ec || chunk.empty()) break;
    sha.update(chunk);
    if (slow && (n + chunk.size()) / kMiB != n / kMiB) co_await sleep_for(20ms);
    n += chunk.size();
  }
  if (ec) {
    res.reset();
    co_return;
  }
  Response r(200, std::to_string(n) + " " + sha.hex(), "text/plain");
  co_await res.respond(std::move(r), ec);
}

// Echoes every byte of the request body (or tunnel) back, then ends.
asio::awaitable<void> echo(ServerRequest req, ResponseWriter& res) {
  error_code ec;
  ResponseHead head;
  co_await res.write_head(head, ec);
  if (ec) co_return;
  for (;;) {
    std::string chunk = co_await req.body->read(ec);
    if (ec || chunk.empty()) break;
    co_await res.write(chunk, ec);
    if (ec) co_return;
  }
  Headers none;
  co_await res.finish(none, ec);
}

StreamHandler make_handler(std::shared_ptr<Shared> shared) {
  Router r;
  r.add("/hello", [](Request) -> asio::awaitable<Response> { co_return Response(200, "hi"); });
  r.add_stream("/count", {"POST", "PUT"}, count_body);
  r.add_stream("/download", {"GET"}, [](ServerRequest req, ResponseWriter& res) -> asio::awaitable<void> {
    std::uint64_t mib = std::stoull(std::string(req.query_param("mib").value_or("1")));
    ResponseHead head;
    head.headers.add("content-type", "application/octet-stream");
    head.headers.add("content-length", std::to_string(mib * kMiB));
    error_code ec;
    co_await res.write_head(head, ec);
    for (std::uint64_t k = 0; k < mib && !ec; ++k) {
      std::string b = block(k);
      co_await res.write(b, ec);
    }
    Headers none;
    if (!ec) co_await res.finish(none, ec);
  });
  // Does not read its body until the test says so.
  r.add_stream("/hold", {"POST"}, [shared](ServerRequest req, ResponseWriter& res) -> asio::awaitable<void> {
    while (!shared->release) co_await sleep_for(5ms);
    co_await count_body(std::move(req), res);
  });
  // Reports how reading its body ended.
  r.add_stream("/watch", {"POST"}, [shared](ServerRequest req, ResponseWriter& res) -> asio::awaitable<void> {
    error_code ec;
    for (;;) {
      std::string chunk = co_await req.body->read(ec);
      if (ec || chunk.empty()) break;
    }
    {
      std::lock_guard lock(shared->mutex);
      if (shared->read_error) shared->read_error->set_value(ec);
      shared->read_error.reset();
    }
    Response ok(200, "read to the end");
    if (!ec) co_await res.respond(std::move(ok), ec);
  });
  // Writes until a write fails; reports the error and how much it wrote.
  r.add_stream("/stall", {"GET"}, [shared](ServerRequest, ResponseWriter& res) -> asio::awaitable<void> {
    error_code ec;
    ResponseHead head;
    co_await res.write_head(head, ec);
    std::uint64_t written = 0;
    std::string piece(16 * 1024, 's');
    while (!ec && written < 256 * kMiB) {
      co_await res.write(piece, ec);
      if (!ec) written += piece.size();
    }
    std::lock_guard lock(shared->mutex);
    if (shared->write_error) shared->write_error->set_value({ec, written});
    shared->write_error.reset();
  });
  // gRPC-like: echoes the body, answers with trailers naming what it got.
  r.add_stream("/trailers", {"POST"}, [](ServerRequest req, ResponseWriter& res) -> asio::awaitable<void> {
    error_code ec;
    std::string body = co_await req.body->read_all(kMiB, ec);
    if (ec) co_return;
    ResponseHead head;
    head.headers.add("content-type", "application/grpc");
    co_await res.write_head(head, ec);
    co_await res.write(body, ec);
    Headers trailers;
    trailers.add("grpc-status", "0");
    trailers.add("x-got-trailer", std::string(req.body->trailers().get("x-request-sum").value_or("none")));
    trailers.add("x-got-bytes", std::to_string(body.size()));
    co_await res.finish(std::move(trailers), ec);
  });
  r.add_stream("/ws", {"CONNECT"}, echo);
  auto routed = r.stream_handler();
  // Plain CONNECT (no :path) goes to a tunnel echo; everything else by path.
  return [routed](ServerRequest req, ResponseWriter& res) -> asio::awaitable<void> {
    if (req.method == "CONNECT" && req.protocol.empty()) {
      if (req.target != "tunnel.example:443") {
        error_code ec;
        co_await res.respond(Response::text(400, "unexpected target " + req.target), ec);
        co_return;
      }
      co_await echo(std::move(req), res);
      co_return;
    }
    co_await routed(std::move(req), res);
  };
}

// An in-process TLS server (ALPN h2, http/1.1) with the streaming handler.
// Our server over TLS with the streaming handlers above.
class StreamServer : public TestServer {
 public:
  StreamServer(std::shared_ptr<Shared> shared, Limits limits, const TestCert& cert)
      : TestServer(make_handler(std::move(shared)), limits, &cert) {}
};

class H2StreamTest : public ::testing::Test {
 protected:
  void SetUp() override { cert_ = make_cert(dir_, "stream"); }

  std::vector<std::string> curl_args(const StreamServer& s) const {
    return {"curl",          "-sS",       "--http2",
            "--max-time",    "60",        "--cacert",
            cert_.cert_file, "--resolve", "localhost:" + std::to_string(s.port()) + ":127.0.0.1"};
  }

  // Runs the Node client in `mode`; its JSON line.
  std::string node(const StreamServer& s, const std::string& mode) {
    auto script = basalt::testing::source_dir() + "/tests/integration/http/h2_stream_client.mjs";
    auto r = basalt::testing::run({"node", script, mode, std::to_string(s.port()), cert_.cert_file}, 30s);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return r.out;
  }

  TempDir dir_;
  TestCert cert_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

Limits streaming_limits() {
  Limits limits;
  limits.max_body_bytes = 0;  // a streaming service: no body limit
  return limits;
}

// 64 MiB uploaded by curl from a pipe (no content-length) to a handler that
// hashes it as it arrives, slower than curl sends: the bytes arrive intact,
// and the server's memory does not grow with the upload (the window opens
// only as the handler reads, so curl waits for it).
TEST_F(H2StreamTest, CurlUploadOf64MiBStreamsWithBoundedMemory) {
  BASALT_REQUIRE_TOOL("curl");
  StreamServer s(shared_, streaming_limits(), cert_);
  constexpr std::uint64_t kBlocks = 64;
  auto expected = expected_hash(kBlocks);
  long before = basalt::testing::resident_kib(getpid());
  long peak = before;
  auto args = curl_args(s);
  args.insert(args.end(), {"-T", "-", "-X", "POST", s.url("/count?slow=1")});
  Process curl({.argv = args});
  for (std::uint64_t k = 0; k < kBlocks; ++k) {
    ASSERT_TRUE(curl.write(block(k))) << "curl stopped reading at block " << k;
    peak = std::max(peak, basalt::testing::resident_kib(getpid()));
  }
  curl.close_stdin();
  auto out = curl.read_all(60s);
  EXPECT_EQ(curl.wait(10s), 0);
  EXPECT_EQ(out, std::to_string(kBlocks * kMiB) + " " + expected);
  basalt::testing::expect_growth_below(before, peak, 16 * 1024);
}

// 64 MiB downloaded by a rate-limited curl: the handler's writes wait for
// the client's flow-control window, so the server holds a bounded amount
// whatever the response size.
TEST_F(H2StreamTest, SlowDownloadOf64MiBKeepsServerMemoryBounded) {
  BASALT_REQUIRE_TOOL("curl");
  BASALT_REQUIRE_TOOL("sha256sum");
  StreamServer s(shared_, streaming_limits(), cert_);
  constexpr std::uint64_t kBlocks = 64;
  auto expected = expected_hash(kBlocks);
  std::string command;
  for (auto& a : curl_args(s)) command += "'" + a + "' ";
  command += "--limit-rate 20M '" + s.url("/download?mib=64") + "' | sha256sum";
  long before = basalt::testing::resident_kib(getpid());
  long peak = before;
  Process download({.argv = {"sh", "-c", command}});
  std::optional<int> exit;
  for (int i = 0; i < 1200 && !(exit = download.wait(50ms)); ++i)
    peak = std::max(peak, basalt::testing::resident_kib(getpid()));
  ASSERT_EQ(exit, 0);
  EXPECT_EQ(download.read_all(5s).substr(0, 64), expected);
  basalt::testing::expect_growth_below(before, peak, 16 * 1024);
}

// Reads frames until `done` says stop; false on timeout or EOF.
template <class F>
bool read_until(RawH2& c, F done, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto f = c.read(left);
    if (!f) return false;
    if (done(*f)) return true;
  }
}

// Connects, reads the server's SETTINGS and acknowledges them (so its
// window settings are in force).
std::unique_ptr<RawH2> connect_acked(std::uint16_t port) {
  auto c = std::make_unique<RawH2>(port);
  bool settings = read_until(
      *c, [](const RawH2::Frame& f) { return f.type == RawH2::kSettings && !(f.flags & RawH2::kAck); });
  EXPECT_TRUE(settings);
  c->send(RawH2::kSettings, RawH2::kAck, 0, "");
  return c;
}

// The flow-control rule on the wire: a handler that does not read gets one
// window of body and the client no WINDOW_UPDATE (a PING answered after
// the DATA proves none was sent in reply); once the handler reads, the
// stream and connection windows open and the upload completes.
TEST_F(H2StreamTest, NoWindowUpdateUntilTheHandlerReads) {
  Limits limits = streaming_limits();
  limits.initial_window_size = 64 * 1024;
  limits.connection_window_size = 96 * 1024;
  StreamServer s(shared_, limits, cert_);
  auto c = connect_acked(s.port());
  c->send(RawH2::kHeaders, RawH2::kEndHeaders, 1, RawH2::request_block("POST", "/hold"));
  std::string data(16 * 1024, 'd');
  for (int i = 0; i < 4; ++i) c->send(RawH2::kData, 0, 1, data);  // the whole stream window
  c->send(RawH2::kPing, 0, 0, "12345678");
  std::vector<RawH2::Frame> updates;
  bool pong = read_until(*c, [&](const RawH2::Frame& f) {
    if (f.type == kWindowUpdate && f.stream == 1) updates.push_back(f);
    return f.type == RawH2::kPing && (f.flags & RawH2::kAck);
  });
  ASSERT_TRUE(pong);
  EXPECT_TRUE(updates.empty()) << "WINDOW_UPDATE for a body nobody read";

  shared_->release = true;
  bool stream_update = false, connection_update = false;
  ASSERT_TRUE(read_until(*c,
                         [&](const RawH2::Frame& f) {
                           if (f.type == kWindowUpdate)
                             (f.stream == 1 ? stream_update : connection_update) = true;
                           return stream_update && connection_update;
                         }))
      << "stream " << stream_update << " connection " << connection_update;
  c->send(RawH2::kData, RawH2::kEndStream, 1, "");
  std::string answer;
  ASSERT_TRUE(read_until(*c, [&](const RawH2::Frame& f) {
    if (f.type == RawH2::kData && f.stream == 1) answer += f.payload;
    return f.stream == 1 && (f.flags & RawH2::kEndStream);
  }));
  EXPECT_TRUE(answer.starts_with("65536 ")) << answer;
}

// A client that opens no window stalls the handler's writes: it gets at
// most the window plus the per-stream buffer written, not its 256 MiB;
// the client's RST_STREAM then fails the pending write.
TEST_F(H2StreamTest, ClientThatDoesNotReadStallsTheHandler) {
  StreamServer s(shared_, streaming_limits(), cert_);
  std::future<std::pair<error_code, std::uint64_t>> outcome;
  {
    std::lock_guard lock(shared_->mutex);
    outcome = shared_->write_error.emplace().get_future();
  }
  auto c = connect_acked(s.port());
  c->send(RawH2::kHeaders, RawH2::kEndHeaders | RawH2::kEndStream, 1, RawH2::request_block("GET", "/stall"));
  std::size_t received = 0;
  ASSERT_TRUE(read_until(*c, [&](const RawH2::Frame& f) {
    if (f.type == RawH2::kData && f.stream == 1) received += f.payload.size();
    return received >= 65535;  // the default window the client never opens
  }));
  // The handler now fills its buffer and waits; nothing more is sent.
  c->send(RawH2::kPing, 0, 0, "12345678");
  ASSERT_TRUE(read_until(*c, [&](const RawH2::Frame& f) {
    if (f.type == RawH2::kData && f.stream == 1) received += f.payload.size();
    return f.type == RawH2::kPing && (f.flags & RawH2::kAck);
  }));
  EXPECT_EQ(received, 65535u);
  c->send(RawH2::kRstStream, 0, 1, std::string("\0\0\0\x08", 4));  // CANCEL
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready);
  auto [ec, written] = outcome.get();
  EXPECT_EQ(ec, make_error_code(BodyError::kReset));
  EXPECT_LE(written, 65535u + 64 * 1024 + 16 * 1024);
}

// The client resets its stream mid-upload: the handler's read fails with
// kReset, and another client is served as usual.
TEST_F(H2StreamTest, ResetMidUploadFailsTheHandlersRead) {
  BASALT_REQUIRE_TOOL("curl");
  StreamServer s(shared_, streaming_limits(), cert_);
  std::future<error_code> outcome;
  {
    std::lock_guard lock(shared_->mutex);
    outcome = shared_->read_error.emplace().get_future();
  }
  auto c = connect_acked(s.port());
  c->send(RawH2::kHeaders, RawH2::kEndHeaders, 1, RawH2::request_block("POST", "/watch"));
  c->send(RawH2::kData, 0, 1, std::string(16 * 1024, 'u'));
  c->send(RawH2::kRstStream, 0, 1, std::string("\0\0\0\x08", 4));  // CANCEL
  ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(outcome.get(), make_error_code(BodyError::kReset));

  auto args = curl_args(s);
  args.push_back(s.url("/hello"));
  auto other = basalt::testing::run(args);
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out, "hi");
  // The same connection serves a new stream too.
  c->send(RawH2::kHeaders, RawH2::kEndHeaders | RawH2::kEndStream, 3, RawH2::request_block("GET", "/hello"));
  std::string body;
  ASSERT_TRUE(read_until(*c, [&](const RawH2::Frame& f) {
    if (f.type == RawH2::kData && f.stream == 3) body += f.payload;
    return f.stream == 3 && (f.flags & RawH2::kEndStream);
  }));
  EXPECT_EQ(body, "hi");
}

// Request trailers reach the handler (Body::trailers), response trailers
// reach the client ('trailers' event), gRPC style.
TEST_F(H2StreamTest, TrailersBothWaysWithNode) {
  BASALT_REQUIRE_TOOL("node");
  StreamServer s(shared_, streaming_limits(), cert_);
  auto out = node(s, "trailers");
  EXPECT_NE(out.find("\"status\":200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"body\":\"first part, second part\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"grpc-status\":\"0\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"x-got-trailer\":\"abc123\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"x-got-bytes\":\"23\""), std::string::npos) << out;
}

// RFC 8441: the server announces SETTINGS_ENABLE_CONNECT_PROTOCOL; a
// CONNECT with :protocol websocket answered 200 is a byte tunnel both ways.
TEST_F(H2StreamTest, ExtendedConnectWebSocketTunnelWithNode) {
  BASALT_REQUIRE_TOOL("node");
  StreamServer s(shared_, streaming_limits(), cert_);
  auto out = node(s, "websocket");
  EXPECT_NE(out.find("\"enableConnectProtocol\":true"), std::string::npos) << out;
  EXPECT_NE(out.find("\"status\":200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"body\":\"helloworld\""), std::string::npos) << out;
  EXPECT_EQ(out.find("content-length"), std::string::npos) << out;
}

TEST_F(H2StreamTest, PlainConnectTunnelWithNode) {
  BASALT_REQUIRE_TOOL("node");
  StreamServer s(shared_, streaming_limits(), cert_);
  auto out = node(s, "connect");
  EXPECT_NE(out.find("\"status\":200"), std::string::npos) << out;
  EXPECT_NE(out.find("\"body\":\"helloworld\""), std::string::npos) << out;
}

}  // namespace
}  // namespace basalt::http::testing
