// The streaming client and its pool against real peers on loopback: nginx
// (HTTP/1.1 keep-alive reuse, chunked download, connection age), a raw TCP
// server that closes a kept-alive connection after reading the next request
// (the keep-alive race: retried or not by the rules), Node's HTTP/2 server
// (a slow reader's memory and flow-control window, extended CONNECT with and
// without SETTINGS_ENABLE_CONNECT_PROTOCOL), the `ws` npm package (a
// WebSocket upgrade carried as a tunnel), and our own server (64 MiB
// streamed uploads over HTTP/1.1 chunked and h2c, pool limits).
#include "basalt/core/runtime.hpp"
#include "basalt/http/client.hpp"
#include "basalt/http/router.hpp"
#include "basalt/http/server.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/memory.hpp"
#include "basalt/testing/process.hpp"
#include "fixture.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

namespace basalt::http {
namespace {

namespace asio = boost::asio;
using basalt::http::testing::TestServer;
using basalt::http::testing::with_client;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using basalt::testing::Process;
using basalt::testing::TempDir;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// Waits until something accepts TCP connections on 127.0.0.1:port.
bool wait_listening(std::uint16_t port, std::chrono::milliseconds timeout = 10s) {
  auto until = Clock::now() + timeout;
  asio::io_context io;
  while (Clock::now() < until) {
    asio::ip::tcp::socket s(io);
    error_code ec;
    s.connect({asio::ip::address_v4::loopback(), port}, ec);
    if (!ec) return true;
    std::this_thread::sleep_for(20ms);  // polling a peer we do not control
  }
  return false;
}

std::string url(std::uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// ---- nginx ------------------------------------------------------------

class Nginx {
 public:
  explicit Nginx(const std::string& extra_http = "") : port_(basalt::testing::free_port()) {
    fs::create_directories(dir_.file("html/chunked"));
    { std::ofstream(dir_.file("html/small.txt")) << "small file\n"; }
    std::string big;
    for (int i = 0; i < 64 * 1024; ++i) big.append("line " + std::to_string(i % 10) + " x\n");  // ~576 KiB
    { std::ofstream(dir_.file("html/chunked/big.txt")) << big; }
    big_ = big;
    {
      std::ofstream f(dir_.file("html/big.bin"), std::ios::binary);
      std::string block(1024 * 1024, 'b');
      for (int i = 0; i < 8; ++i) f << block;
    }
    std::ofstream conf(dir_.file("nginx.conf"));
    conf << "worker_processes 1;\n"
         << "error_log " << dir_.file("error.log") << ";\n"
         << "pid " << dir_.file("nginx.pid") << ";\n"
         << "events { worker_connections 64; }\n"
         << "http {\n"
         << "  access_log off;\n"
         << "  client_body_temp_path " << dir_.file("tmp") << ";\n"
         << extra_http << "\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << port_ << ";\n"
         << "    root " << dir_.file("html")
         << ";\n"
         // sub_filter drops Content-Length: the response goes out chunked.
         << "    location /chunked/ { sub_filter 'x' 'y'; sub_filter_once off; sub_filter_types *; }\n"
         << "  }\n"
         << "}\n";
    conf.close();
    process_.emplace(Process::Options{
        .argv = {"nginx", "-c", dir_.file("nginx.conf"), "-p", dir_.path(), "-g", "daemon off;"},
        .capture_stderr = true});
    listening_ = wait_listening(port_);
  }
  // SIGTERM, not the SIGKILL of ~Process: the master then stops its worker,
  // which would otherwise outlive the test and keep the port.
  ~Nginx() {
    if (!process_) return;
    process_->signal(SIGTERM);
    process_->wait(std::chrono::seconds(5));
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;
  bool listening() const { return listening_; }
  std::string log() const {
    std::ifstream f(dir_.file("error.log"));
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  std::uint16_t port() const { return port_; }
  const std::string& big() const { return big_; }

 private:
  TempDir dir_;
  std::uint16_t port_;
  std::string big_;
  std::optional<Process> process_;
  bool listening_ = false;
};

#define START_NGINX(name, extra) \
  BASALT_REQUIRE_TOOL("nginx");  \
  Nginx name(extra);             \
  ASSERT_TRUE(name.listening()) << "nginx did not start: " << name.log()

TEST(ClientStreamNginx, KeepAliveConnectionsAreReused) {
  START_NGINX(nginx, "keepalive_timeout 60s;");
  with_client({}, [&](Client& client) -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      ClientRequest req{.url = url(nginx.port(), "/small.txt")};
      auto r = co_await client.request(req);
      EXPECT_TRUE(r) << r.error.message() << " " << r.detail;
      EXPECT_EQ(r.response.status, 200);
      EXPECT_EQ(r.response.body, "small file\n");
    }
    EXPECT_EQ(client.connections_opened(), 1u);
  });
}

TEST(ClientStreamNginx, ChunkedDownloadStreams) {
  START_NGINX(nginx, "");
  with_client({}, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest req{.url = url(nginx.port(), "/chunked/big.txt")};
    auto s = co_await client.open(req);
    EXPECT_TRUE(s) << s.error.message() << " " << s.detail;
    if (!s) co_return;
    EXPECT_EQ(s.head.status, 200);
    EXPECT_EQ(s.head.headers.get("transfer-encoding").value_or(""), "chunked");
    EXPECT_FALSE(s.head.headers.contains("content-length"));
    std::string all;
    std::size_t reads = 0;
    for (;;) {
      error_code ec;
      auto chunk = co_await s.body->read(ec);
      EXPECT_FALSE(ec) << ec.message();
      if (ec || chunk.empty()) break;
      EXPECT_LE(s.body->buffered(), s.body->capacity() + 16 * 1024);
      all += chunk;
      ++reads;
    }
    std::string expected = nginx.big();
    std::replace(expected.begin(), expected.end(), 'x', 'y');
    EXPECT_EQ(all.size(), expected.size());
    EXPECT_TRUE(all == expected);
    EXPECT_GT(reads, 1u);  // it streamed
    // The connection went back to the pool.
    ClientRequest again{.url = url(nginx.port(), "/small.txt")};
    auto r = co_await client.request(again);
    EXPECT_TRUE(r) << r.error.message();
    EXPECT_EQ(client.connections_opened(), 1u);
  });
}

TEST(ClientStreamNginx, MaxConnectionAgeDoesNotCutARunningDownload) {
  START_NGINX(nginx, "");
  ClientOptions options;
  options.max_connection_age = 300ms;
  options.initial_window_size = 64 * 1024;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    auto start = Clock::now();
    ClientRequest req{.url = url(nginx.port(), "/big.bin")};
    auto s = co_await client.open(req);
    EXPECT_TRUE(s) << s.error.message();
    if (!s) co_return;
    error_code ec;
    auto first = co_await s.body->read(ec);
    EXPECT_FALSE(first.empty());
    // Let the connection outlive its age limit in the middle of the body.
    co_await pause(std::chrono::duration_cast<std::chrono::milliseconds>(start + 400ms - Clock::now()));
    auto rest = co_await s.body->read_all(64 * 1024 * 1024, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(first.size() + rest.size(), 8u * 1024 * 1024);
    // Retired once done: the next request opens a new connection.
    ClientRequest again{.url = url(nginx.port(), "/small.txt")};
    auto r = co_await client.request(again);
    EXPECT_TRUE(r) << r.error.message();
    EXPECT_EQ(client.connections_opened(), 2u);
  });
}

TEST(ClientStreamNginx, AbortClosesTheHttp11Connection) {
  START_NGINX(nginx, "");
  with_client({}, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest req{.url = url(nginx.port(), "/big.bin")};
    auto s = co_await client.open(req);
    EXPECT_TRUE(s) << s.error.message();
    if (!s) co_return;
    error_code ec;
    auto first = co_await s.body->read(ec);
    EXPECT_FALSE(first.empty());
    s.body->abort();
    ClientRequest again{.url = url(nginx.port(), "/small.txt")};
    auto r = co_await client.request(again);
    EXPECT_TRUE(r) << r.error.message();
    EXPECT_EQ(r.response.body, "small file\n");
    EXPECT_EQ(client.connections_opened(), 2u);  // the aborted one was not reused
  });
}

// ---- the keep-alive race ------------------------------------------------

// Answers the first request of its first connection with keep-alive, then
// reads the second request and closes without a byte of answer (what a
// server whose keep-alive timeout fires as the request arrives does).
// Later connections get normal answers.
class RacyServer {
 public:
  RacyServer() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
    thread_ = std::thread([this] { run(); });
  }
  ~RacyServer() {
    stop_ = true;
    error_code ec;
    asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }
  int answered() const { return answered_; }

 private:
  void run() {
    for (int n = 0; !stop_; ++n) {
      asio::ip::tcp::socket s(io_);
      error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      ++connections_;
      for (int i = 0; !ec; ++i) {
        std::string in;
        asio::read_until(s, asio::dynamic_buffer(in), "\r\n\r\n", ec);
        if (ec) break;
        if (n == 0 && i == 1) break;  // the race: close without answering
        std::string body = "answer " + std::to_string(answered_ + 1);
        std::string out =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        asio::write(s, asio::buffer(out), ec);
        ++answered_;
        if (n > 0) break;
      }
      s.close(ec);
    }
  }
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> answered_{0};
};

TEST(ClientStreamRetry, IdempotentRequestIsRetriedOnAFreshConnection) {
  RacyServer server;
  with_client({}, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest first{.url = url(server.port(), "/a")};
    auto r1 = co_await client.request(first);
    EXPECT_TRUE(r1) << r1.error.message();
    ClientRequest second{.method = "PUT", .url = url(server.port(), "/b"), .body = "x"};
    auto r2 = co_await client.request(second);
    EXPECT_TRUE(r2) << r2.error.message() << " " << r2.detail;
    EXPECT_EQ(r2.response.body, "answer 2");
    EXPECT_EQ(client.connections_opened(), 2u);
  });
  EXPECT_EQ(server.connections(), 2);
}

TEST(ClientStreamRetry, StreamedPostIsNotRetried) {
  RacyServer server;
  with_client({}, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest first{.url = url(server.port(), "/a")};
    auto r1 = co_await client.request(first);
    EXPECT_TRUE(r1) << r1.error.message();
    auto upload = std::make_shared<Body>(client.executor());
    upload->push(std::string("payload"));
    upload->finish();
    ClientRequest post{.method = "POST", .url = url(server.port(), "/b"), .body_stream = upload};
    auto r2 = co_await client.request(post);
    EXPECT_EQ(r2.error, ClientError::kConnectionClosed) << r2.error.message();
    EXPECT_EQ(client.connections_opened(), 1u);
  });
  EXPECT_EQ(server.connections(), 1);
}

// ---- Node peers -----------------------------------------------------------

class NodePeer {
 public:
  NodePeer(const std::string& script, const std::string& mode)
      : process_(Process::Options{.argv = {"node", script, mode}, .capture_stderr = true}) {
    while (auto line = process_.read_line(30s)) {
      if (line->starts_with("READY ")) {
        port_ = static_cast<std::uint16_t>(std::stoi(line->substr(6)));
        return;
      }
    }
  }
  std::uint16_t port() const { return port_; }

 private:
  Process process_;
  std::uint16_t port_ = 0;
};

std::string peers_script() {
  return basalt::testing::source_dir() + "/tests/integration/http/client_peers.mjs";
}

TEST(ClientStreamHttp2, SlowReaderKeepsMemoryAndWindowBounded) {
  BASALT_REQUIRE_TOOL("node");
  NodePeer peer(peers_script(), "download");
  ASSERT_NE(peer.port(), 0) << "node peer did not start";
  ClientOptions options;
  options.h2c = true;
  options.initial_window_size = 128 * 1024;
  constexpr std::size_t kTotal = 32 * 1024 * 1024;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest req{.url = url(peer.port(), "/bytes?n=" + std::to_string(kTotal))};
    auto s = co_await client.open(req);
    EXPECT_TRUE(s) << s.error.message() << " " << s.detail;
    if (!s) co_return;
    EXPECT_EQ(s.version, Version::http2);
    EXPECT_EQ(s.body->capacity(), 128u * 1024);
    long before = basalt::testing::resident_kib(getpid());
    std::size_t total = 0;
    std::size_t max_buffered = 0;
    for (int i = 0;; ++i) {
      error_code ec;
      // The server could send far faster than this reader takes.
      if (i % 8 == 0) co_await pause(1ms);
      max_buffered = std::max(max_buffered, s.body->buffered());
      auto chunk = co_await s.body->read(ec);
      EXPECT_FALSE(ec) << ec.message();
      if (ec || chunk.empty()) break;
      total += chunk.size();
    }
    long after = basalt::testing::resident_kib(getpid());
    EXPECT_EQ(total, kTotal);
    EXPECT_EQ(s.body->trailers().get("x-total").value_or(""), std::to_string(kTotal));
    // Never more than the stream window waits: the server was held back.
    EXPECT_LE(max_buffered, 128u * 1024);
    EXPECT_GT(max_buffered, 0u);
    basalt::testing::expect_growth_below(before, after, 8 * 1024);
  });
}

TEST(ClientStreamHttp2, AbortCancelsOnlyItsStream) {
  BASALT_REQUIRE_TOOL("node");
  NodePeer peer(peers_script(), "download");
  ASSERT_NE(peer.port(), 0) << "node peer did not start";
  ClientOptions options;
  options.h2c = true;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest big{.url = url(peer.port(), "/bytes?n=" + std::to_string(64 * 1024 * 1024))};
    auto s = co_await client.open(big);
    EXPECT_TRUE(s) << s.error.message();
    if (!s) co_return;
    error_code ec;
    auto first = co_await s.body->read(ec);
    EXPECT_FALSE(first.empty());
    s.body->abort();  // RST_STREAM(CANCEL)
    ClientRequest small{.url = url(peer.port(), "/bytes?n=1000")};
    auto r = co_await client.request(small);
    EXPECT_TRUE(r) << r.error.message() << " " << r.detail;
    EXPECT_EQ(r.response.body.size(), 1000u);
    EXPECT_EQ(client.connections_opened(), 1u);  // the connection went on
  });
}

TEST(ClientStreamHttp2, ExtendedConnectTunnelsBytes) {
  BASALT_REQUIRE_TOOL("node");
  NodePeer peer(peers_script(), "connect");
  ASSERT_NE(peer.port(), 0);
  ClientOptions options;
  options.h2c = true;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    auto up = std::make_shared<Body>(client.executor());
    ClientRequest req{
        .method = "CONNECT", .url = url(peer.port(), "/chat"), .body_stream = up, .protocol = "websocket"};
    auto s = co_await client.open(req);
    EXPECT_TRUE(s) << s.error.message() << " " << s.detail;
    if (!s) co_return;
    EXPECT_EQ(s.head.status, 200);
    EXPECT_EQ(s.head.headers.get("x-protocol").value_or(""), "websocket");
    std::string echoed;
    for (std::string msg : {"ping", "pong pong"}) {
      error_code ec;
      co_await up->write(msg, ec);
      EXPECT_FALSE(ec);
      std::string got;
      while (got.size() < msg.size()) {
        auto chunk = co_await s.body->read(ec);
        if (ec || chunk.empty()) break;
        got += chunk;
      }
      EXPECT_EQ(got, msg);
    }
    up->finish();  // END_STREAM; the server's pipe ends its side too
    error_code ec;
    auto rest = co_await s.body->read_all(1024, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(rest, "");
  });
}

TEST(ClientStreamHttp2, ExtendedConnectWithoutServerSupportIsNotSupported) {
  BASALT_REQUIRE_TOOL("node");
  NodePeer peer(peers_script(), "no-connect");
  ASSERT_NE(peer.port(), 0);
  ClientOptions options;
  options.h2c = true;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    auto up = std::make_shared<Body>(client.executor());
    ClientRequest req{
        .method = "CONNECT", .url = url(peer.port(), "/chat"), .body_stream = up, .protocol = "websocket"};
    auto s = co_await client.open(req);
    EXPECT_EQ(s.error, ClientError::kNotSupported) << s.error.message();
  });
}

// The `ws` package, installed once for this file next to a copy of the peers
// script (so its import resolves).
class WsPackage {
 public:
  static WsPackage& get() {
    static WsPackage p;
    return p;
  }
  std::optional<std::string> skip;
  std::string error;
  std::string script() const { return dir_.file("client_peers.mjs"); }

 private:
  WsPackage() {
    auto r = basalt::testing::run({"npm", "install", "--prefix", dir_.path(), "--no-audit", "--no-fund",
                                   "--ignore-scripts", "--loglevel=error", "ws@8.16.0"},
                                  300s);
    if (r.exit_code != 0) {
      auto ping = basalt::testing::run({"npm", "ping", "--loglevel=error"}, 60s);
      if (ping.exit_code != 0) {
        skip = "the npm registry cannot be reached (npm ping: " + ping.err + ")";
      } else {
        error = "npm install ws@8.16.0 failed: " + r.err;
      }
      return;
    }
    fs::copy_file(peers_script(), script());
  }
  TempDir dir_;
};

TEST(ClientStreamUpgrade, WebSocketThroughTheClient) {
  BASALT_REQUIRE_TOOL("node");
  BASALT_REQUIRE_TOOL("npm");
  auto& pkg = WsPackage::get();
  if (pkg.skip) GTEST_SKIP() << *pkg.skip;
  ASSERT_TRUE(pkg.error.empty()) << pkg.error;
  NodePeer peer(pkg.script(), "ws");
  ASSERT_NE(peer.port(), 0);
  with_client({}, [&](Client& client) -> asio::awaitable<void> {
    auto up = std::make_shared<Body>(client.executor());
    ClientRequest req{.url = url(peer.port(), "/"),
                      .headers = {{"Connection", "Upgrade"},
                                  {"Upgrade", "websocket"},
                                  {"Sec-WebSocket-Version", "13"},
                                  {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}},
                      .body_stream = up};
    auto s = co_await client.open(req);
    EXPECT_TRUE(s) << s.error.message() << " " << s.detail;
    if (!s) co_return;
    EXPECT_EQ(s.head.status, 101);
    EXPECT_EQ(s.head.headers.get("sec-websocket-accept").value_or(""), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    // A masked text frame "hello" (RFC 6455 §5.7's example).
    std::string frame = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    error_code ec;
    co_await up->write(frame, ec);
    EXPECT_FALSE(ec);
    std::string got;
    while (got.size() < 7) {
      auto chunk = co_await s.body->read(ec);
      if (ec || chunk.empty()) break;
      got += chunk;
    }
    EXPECT_EQ(got, std::string("\x81\x05Hello"));  // the server's unmasked echo
    // A close frame; the server answers with its own and closes.
    std::string close_frame("\x88\x80\x00\x00\x00\x00", 6);
    co_await up->write(close_frame, ec);
    auto rest = co_await s.body->read_all(1024, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(rest.starts_with("\x88")) << rest.size();
    up->finish();
  });
}

// ---- our server: uploads and pool limits ------------------------------------

Router counting_router() {
  Router router;
  router.add_stream("/count", {"POST", "PUT"},
                    [](ServerRequest req, ResponseWriter& res) -> asio::awaitable<void> {
                      std::uint64_t n = 0;
                      error_code ec;
                      for (;;) {
                        auto chunk = co_await req.body->read(ec);
                        if (ec || chunk.empty()) break;
                        n += chunk.size();
                      }
                      std::string text = ec ? "error " + ec.message() : "count " + std::to_string(n);
                      Response r(200, text, "text/plain");
                      co_await res.respond(std::move(r), ec);
                    });
  return router;
}

Limits counting_limits() {
  Limits limits;
  limits.max_body_bytes = 256 * 1024 * 1024;
  return limits;
}

// Cleartext (HTTP/1.1 and h2c), one worker, counts uploads.
class CountingServer : public TestServer {
 public:
  CountingServer() : TestServer(counting_router(), counting_limits(), nullptr, 1) {}
};

asio::awaitable<void> upload(std::shared_ptr<Body> body, std::size_t total) {
  std::string block(64 * 1024, 'u');
  error_code ec;
  for (std::size_t sent = 0; sent < total && !ec; sent += block.size()) co_await body->write(block, ec);
  Headers trailers{{"x-sent", std::to_string(total)}};
  body->finish(std::move(trailers));
}

void streamed_upload(bool h2c) {
  CountingServer server;
  ClientOptions options;
  options.h2c = h2c;
  constexpr std::size_t kTotal = 64 * 1024 * 1024;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    auto body = std::make_shared<Body>(client.executor(), 256 * 1024);
    asio::co_spawn(client.executor(), upload(body, kTotal), asio::detached);
    ClientRequest req{.method = "POST", .url = url(server.port(), "/count"), .body_stream = body};
    auto r = co_await client.request(req);
    EXPECT_TRUE(r) << r.error.message() << " " << r.detail;
    EXPECT_EQ(r.version, h2c ? Version::http2 : Version::http1_1);
    EXPECT_EQ(r.response.body, "count " + std::to_string(kTotal));
  });
}

TEST(ClientStreamUpload, SixtyFourMiBChunkedOverHttp11) {
  streamed_upload(false);
}

TEST(ClientStreamUpload, SixtyFourMiBOverH2c) {
  streamed_upload(true);
}

TEST(ClientStreamPool, ConnectionLimitQueuesThenPoolFull) {
  CountingServer server;
  ClientOptions options;
  options.max_connections_per_origin = 2;
  options.max_pending_per_origin = 1;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    auto ex = client.executor();
    // Two uploads held open keep both connections busy.
    std::vector<std::shared_ptr<Body>> bodies;
    int done = 0;
    asio::steady_timer all(ex, Clock::time_point::max());
    for (int i = 0; i < 2; ++i) {
      auto body = std::make_shared<Body>(ex);
      bodies.push_back(body);
      asio::co_spawn(
          ex,
          [&, body]() -> asio::awaitable<void> {
            ClientRequest req{.method = "POST", .url = url(server.port(), "/count"), .body_stream = body};
            auto r = co_await client.request(req);
            EXPECT_TRUE(r) << r.error.message();
            EXPECT_EQ(r.response.body, "count 5");
            if (++done == 3) all.cancel();
          },
          asio::detached);
    }
    // A third waits for a connection.
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          ClientRequest req{.method = "POST", .url = url(server.port(), "/count"), .body = "abc"};
          auto r = co_await client.request(req);
          EXPECT_TRUE(r) << r.error.message();
          EXPECT_EQ(r.response.body, "count 3");
          if (++done == 3) all.cancel();
        },
        asio::detached);
    // Let the three run up to their wait (nothing else is ready to run).
    for (int i = 0; i < 50; ++i) co_await asio::post(ex, asio::use_awaitable);
    // A fourth finds the queue full.
    ClientRequest fourth{.method = "POST", .url = url(server.port(), "/count"), .body = "x"};
    auto full = co_await client.request(fourth);
    EXPECT_EQ(full.error, ClientError::kPoolFull) << full.error.message();
    for (auto& b : bodies) {
      b->push(std::string("hello"));
      b->finish();
    }
    error_code ec;
    co_await all.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(done, 3);
    EXPECT_EQ(client.connections_opened(), 2u);
  });
}

TEST(ClientStreamH1, ExpectContinueWaitsForTheServer) {
  CountingServer server;
  ClientOptions options;
  options.http2 = false;
  with_client(options, [&](Client& client) -> asio::awaitable<void> {
    ClientRequest req{.method = "PUT",
                      .url = url(server.port(), "/count"),
                      .headers = {{"Expect", "100-continue"}},
                      .body = std::string(100000, 'e')};
    auto r = co_await client.request(req);
    EXPECT_TRUE(r) << r.error.message();
    EXPECT_EQ(r.response.body, "count 100000");
  });
}

}  // namespace
}  // namespace basalt::http
