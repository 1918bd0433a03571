// HTTP/1.1 streaming in the server, against real clients: bodies that flow
// with bounded memory both ways (curl uploading chunked, curl reading at a
// limited rate), chunked responses with trailers, pipelining, a CONNECT
// tunnel, a WebSocket upgrade driven by the npm `ws` client, and the
// request-line and field-count limits (a normal client is served beside).
#include "basalt/core/encoding.hpp"
#include "basalt/testing/memory.hpp"
#include "fixture.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace basalt::http::testing {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;
using basalt::testing::expect_growth_below;
using basalt::testing::resident_kib;
using basalt::testing::run;
using basalt::testing::TempDir;

constexpr std::size_t kBig = 64u << 20;  // the bench uses 1 GiB

// Counts the request body without keeping it; answers the count.
asio::awaitable<void> count_body(ServerRequest request, ResponseWriter& response) {
  std::uint64_t total = 0;
  error_code ec;
  for (;;) {
    std::string chunk = co_await request.body->read(ec);
    if (ec || chunk.empty()) break;
    total += chunk.size();
  }
  if (ec) {
    response.reset();
    co_return;
  }
  Response counted(200, std::to_string(total), "text/plain");
  co_await response.respond(std::move(counted), ec);
}

// bytes=N of 'x', in 64 KiB writes, chunked (no Content-Length), trailers at the end.
asio::awaitable<void> produce(ServerRequest request, ResponseWriter& response) {
  std::uint64_t left = std::stoull(std::string(request.query_param("bytes").value_or("0")));
  error_code ec;
  ResponseHead head{200, {{"content-type", "application/octet-stream"}}};
  co_await response.write_head(std::move(head), ec);
  const std::string piece(64 * 1024, 'x');
  while (!ec && left > 0) {
    std::string_view chunk(piece.data(), std::min<std::uint64_t>(left, piece.size()));
    co_await response.write(chunk, ec);
    left -= chunk.size();
  }
  if (ec) co_return;
  Headers trailers{{"x-checksum", "done"}};
  co_await response.finish(std::move(trailers), ec);
}

// Echoes raw bytes after answering CONNECT with 200.
asio::awaitable<void> tunnel_echo(ServerRequest request, ResponseWriter& response) {
  error_code ec;
  ResponseHead head{200, {}};
  co_await response.write_head(std::move(head), ec);
  for (;;) {
    std::string chunk = co_await request.body->read(ec);
    if (ec || chunk.empty()) break;
    co_await response.write(chunk, ec);
    if (ec) co_return;
  }
  co_await response.finish({}, ec);
}

std::string websocket_accept(std::string_view key) {
  std::string text = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return core::base64_encode({digest, sizeof digest});
}

// A minimal RFC 6455 echo server on top of the upgraded connection: it
// unmasks the client's frames and sends each one back unmasked.
asio::awaitable<void> websocket_echo(ServerRequest request, ResponseWriter& response) {
  error_code ec;
  auto key = request.headers.get("sec-websocket-key");
  if (!key || request.method != "GET") {
    Response refused = Response::text(400, "not a websocket handshake");
    co_await response.respond(std::move(refused), ec);
    co_return;
  }
  ResponseHead head{101, {{"upgrade", "websocket"}, {"sec-websocket-accept", websocket_accept(*key)}}};
  co_await response.write_head(std::move(head), ec);
  std::string in;
  for (;;) {
    std::string chunk = co_await request.body->read(ec);
    if (ec || chunk.empty()) break;
    in += chunk;
    for (;;) {
      if (in.size() < 2) break;
      auto b0 = static_cast<std::uint8_t>(in[0]);
      auto b1 = static_cast<std::uint8_t>(in[1]);
      std::size_t length = b1 & 0x7f;
      std::size_t at = 2;
      if (length == 126) {
        if (in.size() < 4) break;
        length = (std::size_t{static_cast<std::uint8_t>(in[2])} << 8) | static_cast<std::uint8_t>(in[3]);
        at = 4;
      }
      if (in.size() < at + 4 + length) break;
      std::string payload = in.substr(at + 4, length);
      for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>(payload[i] ^ in[at + i % 4]);
      in.erase(0, at + 4 + length);
      std::string frame;
      frame.push_back(static_cast<char>(b0));
      if (payload.size() < 126) {
        frame.push_back(static_cast<char>(payload.size()));
      } else {
        frame.push_back(static_cast<char>(126));
        frame.push_back(static_cast<char>(payload.size() >> 8));
        frame.push_back(static_cast<char>(payload.size() & 0xff));
      }
      frame += payload;
      co_await response.write(frame, ec);
      if (ec || (b0 & 0x0f) == 8) {  // close echoed: done
        co_await response.finish({}, ec);
        co_return;
      }
    }
  }
  co_await response.finish({}, ec);
}

Router stream_router() {
  Router router;
  router.add_stream("/count", {"POST", "PUT"}, count_body);
  router.add_stream("/produce", {"GET"}, produce);
  router.add_stream("/ws", {"GET"}, websocket_echo);
  router.add("/hello", {"GET"},
             [](Request) -> asio::awaitable<Response> { co_return Response(200, "hello"); });
  router.fallback([](Request r) -> asio::awaitable<Response> {
    co_return Response::text(404, r.method + " " + r.target);
  });
  return router;
}

// A Router has exact paths; CONNECT targets are authorities: route by method.
StreamHandler with_connect(const Router& router) {
  auto routes = router.stream_handler();
  return [routes](ServerRequest request, ResponseWriter& response) -> asio::awaitable<void> {
    if (request.method == "CONNECT") return tunnel_echo(std::move(request), response);
    return routes(std::move(request), response);
  };
}

Limits streaming_limits() {
  Limits l;
  l.max_body_bytes = 0;  // streamed: no limit
  return l;
}

// Cleartext, one worker, the routes above.
class StreamServer : public TestServer {
 public:
  explicit StreamServer(Limits limits = streaming_limits())
      : TestServer(with_connect(stream_router()), limits, nullptr, 1) {}
};

class H1StreamTest : public ::testing::Test {
 protected:
  void SetUp() override { BASALT_REQUIRE_TOOL("curl"); }
  TempDir dir_;
};

TEST_F(H1StreamTest, AChunkedUploadOf64MiBReachesTheHandlerWithFlatMemory) {
  StreamServer s;
  std::string file = dir_.file("upload.bin");
  {
    std::ofstream out(file, std::ios::binary);
    std::string block(1 << 20, 'u');
    for (std::size_t i = 0; i < kBig / block.size(); ++i) out << block;
  }
  long before = resident_kib(getpid());
  auto r =
      curl({"--http1.1", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file}, s.url("/count"));
  long after = resident_kib(getpid());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::to_string(kBig));
  expect_growth_below(before, after, 16 * 1024);
}

TEST_F(H1StreamTest, ASlowReaderOf64MiBSlowsTheHandlerInsteadOfGrowingMemory) {
  StreamServer s;
  long before = resident_kib(getpid());
  std::string file = dir_.file("download.bin");
  auto r = curl({"--http1.1", "--limit-rate", "48M", "-o", file, "-D", "-"},
                s.url("/produce?bytes=" + std::to_string(kBig)));
  long after = resident_kib(getpid());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.body.find("Transfer-Encoding: chunked"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("x-checksum: done"), std::string::npos) << r.body;  // the trailer
  EXPECT_EQ(std::filesystem::file_size(file), kBig);
  expect_growth_below(before, after, 16 * 1024);
}

TEST_F(H1StreamTest, ChunkedResponseCarriesTrailersAndPipelinedRequestsAreAnsweredInOrder) {
  StreamServer s;
  RawTcp c(s.port());
  c.send(
      "GET /produce?bytes=5 HTTP/1.1\r\nHost: a\r\nTE: trailers\r\n\r\n"
      "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
      "GET /missing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto all = c.read_until_closed();
  ASSERT_TRUE(all) << c.received();
  auto first = all->find("5\r\nxxxxx\r\n0\r\nx-checksum: done\r\n\r\n");
  auto second = all->find("hello");
  auto third = all->find("GET /missing");
  EXPECT_NE(first, std::string::npos) << *all;
  EXPECT_LT(first, second) << *all;
  EXPECT_LT(second, third) << *all;
}

TEST_F(H1StreamTest, ConnectBecomesATwoWayTunnel) {
  StreamServer s;
  RawTcp c(s.port());
  c.send("CONNECT backend.test:443 HTTP/1.1\r\nHost: backend.test:443\r\n\r\nearly bytes|");
  c.send("later bytes");
  // The tunnel echoes; the client never closes, so read what has arrived.
  auto closed = c.read_until_closed(1500ms);
  EXPECT_FALSE(closed);
  const auto& got = c.received();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 ", 0), 0u) << got;
  EXPECT_NE(got.find("\r\n\r\nearly bytes|later bytes"), std::string::npos) << got;
}

TEST_F(H1StreamTest, LongRequestLinesAndTooManyFieldsAreRefusedWhileOthersAreServed) {
  Limits limits = streaming_limits();
  limits.max_request_line_bytes = 256;
  limits.max_header_count = 8;
  StreamServer s(limits);
  RawTcp long_line(s.port());
  long_line.send("GET /" + std::string(400, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n");
  auto a = long_line.read_until_closed();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->rfind("HTTP/1.1 414 ", 0), 0u) << *a;

  RawTcp many(s.port());
  std::string fields;
  for (int i = 0; i < 12; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";
  many.send("GET /hello HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n");
  auto b = many.read_until_closed();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->rfind("HTTP/1.1 431 ", 0), 0u) << *b;

  auto ok = curl({"--http1.1"}, s.url("/hello"));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "hello");
}

TEST_F(H1StreamTest, WebSocketUpgradeEchoesThroughTheNpmWsClient) {
  BASALT_REQUIRE_TOOL("node");
  BASALT_REQUIRE_TOOL("npm");
  auto install = run({"npm", "install", "--prefix", dir_.path(), "--no-audit", "--no-fund",
                      "--ignore-scripts", "--loglevel=error", "ws@8.18.0"},
                     300s);
  if (install.exit_code != 0) {
    auto ping = run({"npm", "ping", "--loglevel=error"}, 60s);
    if (ping.exit_code != 0) GTEST_SKIP() << "the npm registry cannot be reached: " << ping.err;
    FAIL() << "npm install ws@8.18.0 failed: " << install.err;
  }
  std::string script = dir_.file("ws_client.js");
  std::ofstream(script) << R"JS(
const WebSocket = require(process.argv[2] + '/node_modules/ws');
const ws = new WebSocket(process.argv[3]);
const big = 'b'.repeat(60000);
let seen = [];
ws.on('open', () => { ws.send('hello basalt'); ws.send(big); });
ws.on('message', (m) => {
  seen.push(m.toString().length);
  if (seen.length === 1) console.log('echo:' + m.toString());
  if (seen.length === 2) { console.log('big:' + seen[1]); ws.close(1000, 'bye'); }
});
ws.on('close', (code) => { console.log('close:' + code); process.exit(0); });
ws.on('error', (e) => { console.error(e.message); process.exit(1); });
setTimeout(() => { console.error('timeout'); process.exit(2); }, 10000);
)JS";
  StreamServer s;
  auto r = run({"node", script, dir_.path(), "ws://127.0.0.1:" + std::to_string(s.port()) + "/ws"}, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("echo:hello basalt"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("big:60000"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("close:1000"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace basalt::http::testing
