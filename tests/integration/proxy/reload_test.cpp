// Reloads never drop a connection (docs/proxy.md, "Reloads, takeover and
// drain"): 20 route updates, half through `updateRoutes` and half through
// SIGHUP with a rewritten file, while wrk (HTTP/1.1 keep-alive), h2load
// (HTTP/2), a TCP echo stream and WebSockets exchanging a message every
// 100 ms run the whole time: no failed request, no lost message, no closed
// WebSocket. And what a removed route still carries keeps running for
// drainGrace, then ends cleanly: a download shorter than the grace
// completes, a longer one is cut at the grace (not before), a WebSocket the
// proxy pings gets a Close frame (1001), a TCP connection gets a FIN.
#include <gmock/gmock.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "basalt/core/config.hpp"
#include "fixture.hpp"
#include "node_peers.hpp"

namespace basalt::proxy_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A number after `label` in a tool's output ("requests: 1234 total" -> 1234
// for label "requests: "); -1 when absent.
long long number_after(const std::string& text, const std::string& label) {
  auto at = text.find(label);
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + label.size()));
}

// One HTTP/1.1 GET over its own connection: the constructor returns once
// the response headers are in (so the request has been routed); read_rest
// then reads the body at a limited rate until it is complete or the
// connection ends.
struct Download {
  Download(std::uint16_t port, const std::string& path) : fd(connect_to(port)) {
    if (fd < 0) return;
    send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    std::string got;
    while (got.find("\r\n\r\n") == std::string::npos) {
      std::string more = read_some_until(fd, 1, 10s);
      if (more.empty()) return;
      got += more;
    }
    const auto end = got.find("\r\n\r\n") + 4;
    head = got.substr(0, end);
    body_bytes = got.size() - end;
    std::smatch m;
    if (std::regex_search(head, m, std::regex("Content-Length: (\\d+)", std::regex::icase))) {
      length = std::stoull(m[1]);
    }
  }
  ~Download() {
    if (fd >= 0) ::close(fd);
  }
  Download(const Download&) = delete;
  Download& operator=(const Download&) = delete;

  // Body bytes received in all, reading at most `bytes_per_second`.
  std::size_t read_rest(std::size_t bytes_per_second, std::chrono::milliseconds timeout) {
    const auto begin = Clock::now();
    const auto deadline = begin + timeout;
    const std::size_t start_bytes = body_bytes;
    char buf[65536];
    while (body_bytes < length && Clock::now() < deadline) {
      // Not ahead of the rate.
      const auto due =
          begin + std::chrono::microseconds((body_bytes - start_bytes) * 1'000'000 / bytes_per_second);
      std::this_thread::sleep_until(due);
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 1000) < 0) break;
      if (p.revents == 0) continue;
      const ssize_t n = ::recv(fd, buf, std::min(sizeof buf, length - body_bytes), 0);
      if (n <= 0) break;
      body_bytes += static_cast<std::size_t>(n);
    }
    return body_bytes;
  }

  int fd = -1;
  std::string head;
  std::size_t length = 0;
  std::size_t body_bytes = 0;
};

class ProxyReload : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("nginx");
    BASALT_REQUIRE_TOOL("curl");
    BASALT_REQUIRE_NODE_PEERS();
    http_port_ = testing::free_port();
    tcp_port_ = testing::free_port();
  }

  // The config: HTTP on http_port_ (nginx, /ws to the WebSocket echo
  // server), TCP echo on tcp_port_, and `extra` routes.
  std::string config(const std::string& extra, int generation) {
    return "drainGrace: " + std::to_string(grace_.count()) +
           "\n"
           "routes:\n"
           "  - {name: web, priority: " +
           std::to_string(generation % 3) + ", match: {ports: " + std::to_string(http_port_) +
           ", protocol: http}, action: {type: forward, targets: [{host: 127.0.0.1, port: " +
           std::to_string(nginx_->http_port()) +
           "}]}}\n"
           "  - {name: ws, priority: 10, match: {ports: " +
           std::to_string(http_port_) +
           ", path: /ws}, action: {type: forward, targets: [{host: 127.0.0.1, port: " +
           std::to_string(ws_->port) +
           "}], websocket: {pingInterval: 1000, pingTimeout: 5000}}}\n"
           "  - {name: tcp, match: {ports: " +
           std::to_string(tcp_port_) +
           "}, action: {type: forward, targets: [{host: 127.0.0.1, port: " + std::to_string(echo_->port()) +
           "}]}}\n" + extra;
  }

  void start(const std::string& extra = "", std::size_t big_bytes = 1 << 20) {
    nginx_.emplace(dir_, "a", "", big_bytes);
    ASSERT_TRUE(nginx_->ready());
    ws_.emplace("ws_echo_server.mjs", std::vector<std::string>{"--port", "0"});
    ASSERT_NE(ws_->port, 0);
    echo_.emplace(ScriptedBackend::Mode::kEcho);
    proxy_.emplace(dir_, config(extra, 0), http_port_);
    ASSERT_TRUE(proxy_->ready()) << proxy_->log();
  }

  // The routes of config(extra, generation) as updateRoutes takes them.
  boost::json::object routes_param(const std::string& extra, int generation) {
    auto options = core::config::parse_yaml(config(extra, generation));
    boost::json::object params;
    params["routes"] = options.as_object()["routes"];
    return params;
  }

  TempDir dir_;
  std::chrono::milliseconds grace_{600'000};
  std::uint16_t http_port_ = 0, tcp_port_ = 0;
  std::optional<NginxBackend> nginx_;
  std::optional<NodeServer> ws_;
  std::optional<ScriptedBackend> echo_;
  std::optional<ProxyDaemon> proxy_;
};

TEST_F(ProxyReload, TwentyReloadsUnderLoadLoseNothing) {
  BASALT_REQUIRE_TOOL("wrk");
  BASALT_REQUIRE_TOOL("h2load");
  start();
  const std::string url = "http://127.0.0.1:" + std::to_string(http_port_) + "/hello.txt";
  std::atomic<bool> running{true};

  testing::RunResult wrk, h2;
  std::thread wrk_thread([&] {
    wrk = testing::run({"wrk", "-t1", "-c16", "-d12s", "--timeout", "10s", url}, 60s);
  });
  std::thread h2_thread([&] { h2 = testing::run({"h2load", "-D", "12", "-c4", "-m4", "-t1", url}, 60s); });

  // A TCP stream: 1 KiB out, the same back, every 20 ms.
  std::atomic<int> tcp_rounds{0}, tcp_errors{0};
  std::thread tcp_thread([&] {
    int fd = connect_to(tcp_port_);
    if (fd < 0) {
      ++tcp_errors;
      return;
    }
    for (int i = 0; running; ++i) {
      std::string chunk(1024, static_cast<char>('a' + i % 26));
      if (!send_all(fd, chunk) || read_some_until(fd, chunk.size(), 5s) != chunk) {
        ++tcp_errors;
        break;
      }
      ++tcp_rounds;
      std::this_thread::sleep_for(20ms);
    }
    ::close(fd);
  });

  // WebSockets through the proxy: an echo every 100 ms for 11 s each.
  std::vector<boost::json::object> ws_results(4);
  std::vector<std::thread> ws_threads;
  for (auto& result : ws_results) {
    ws_threads.emplace_back([&result, this] {
      result = run_client("ws_client.mjs",
                          {"--url", "ws://127.0.0.1:" + std::to_string(http_port_) + "/ws", "--messages", "1",
                           "--hold-ms", "11000", "--interval-ms", "100"},
                          60s);
    });
  }

  // 20 reloads while all of that runs: even ones through updateRoutes,
  // odd ones through SIGHUP with the file rewritten; each adds, changes or
  // removes a route of its own.
  std::this_thread::sleep_for(500ms);
  for (int i = 1; i <= 20; ++i) {
    const std::string extra =
        i % 2 ? "  - {name: churn" + std::to_string(i) + ", match: {ports: " + std::to_string(http_port_) +
                    ", path: /churn" + std::to_string(i) +
                    "}, action: {type: socket-handler, socketHandler: {type: httpStatic}}}\n"
              : "";
    if (i % 2 == 0) {
      EXPECT_NO_THROW(proxy_->call("updateRoutes", routes_param(extra, i))) << "reload " << i;
    } else {
      std::ofstream(proxy_->config_path()) << config(extra, i);
      proxy_->process().signal(SIGHUP);
    }
    std::this_thread::sleep_for(450ms);
  }
  running = false;
  wrk_thread.join();
  h2_thread.join();
  tcp_thread.join();
  for (auto& t : ws_threads) t.join();

  // wrk: every request answered 2xx, no socket error (a request slower than
  // wrk's 2 s default under a loaded machine is late, not lost: --timeout 10s).
  EXPECT_EQ(wrk.exit_code, 0) << wrk.out << wrk.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(wrk.out, m, std::regex(R"((\d+) requests in)"))) << wrk.out;
  EXPECT_GT(std::stoll(m[1]), 0);
  EXPECT_EQ(wrk.out.find("Socket errors"), std::string::npos) << wrk.out;
  EXPECT_EQ(wrk.out.find("Non-2xx"), std::string::npos) << wrk.out;
  // h2load: nothing failed, errored or timed out.
  EXPECT_GT(number_after(h2.out, "requests: "), 0) << h2.out << h2.err;
  EXPECT_THAT(h2.out, ::testing::HasSubstr(" 0 failed, 0 errored, 0 timeout")) << h2.out;
  EXPECT_EQ(tcp_errors, 0);
  EXPECT_GT(tcp_rounds, 100);
  for (const auto& r : ws_results) {
    EXPECT_TRUE(r.contains("ok") && r.at("ok").as_bool()) << boost::json::serialize(r);
    if (r.contains("heldMessages")) {
      EXPECT_GT(r.at("heldMessages").as_int64(), 50) << boost::json::serialize(r);
    }
  }
  long long held = 0;
  for (const auto& r : ws_results) {
    if (r.contains("heldMessages")) held += r.at("heldMessages").as_int64();
  }
  std::cout << "under 20 reloads: wrk " << m[1] << " requests, h2load " << number_after(h2.out, "requests: ")
            << " requests, TCP " << tcp_rounds << " echoes, WebSocket " << held << " echoes\n";
  const std::string log = proxy_->log();
  EXPECT_EQ(log.find("reload failed"), std::string::npos) << log.substr(0, 4000);
  // Every reload took effect: the last SIGHUP's route answers.
  EXPECT_EQ(curl({"-s", "-o", "/dev/null", "-w", "%{http_code}",
                  "http://127.0.0.1:" + std::to_string(http_port_) + "/churn19"})
                .out,
            "404");
}

TEST_F(ProxyReload, ARemovedRoutesDownloadCompletesWithinTheGraceOrIsCutAtIt) {
  grace_ = 2000ms;
  constexpr std::size_t kBig = 24 << 20;
  start("", kBig);
  // `dl` sends /big.bin to nginx like `web` does; only its response carries
  // the header that tells the two apart.
  const std::string dl = "  - {name: dl, priority: 20, match: {ports: " + std::to_string(http_port_) +
                         ", path: /big.bin}, action: {type: forward, targets: [{host: 127.0.0.1, port: " +
                         std::to_string(nginx_->http_port()) + "}]}, headers: {response: {X-Route: dl}}}\n";
  proxy_->call("updateRoutes", routes_param(dl, 0));

  // Both downloads have their response headers, from `dl`, before the route
  // goes: a client started late would otherwise be routed on `web`.
  Download slow(http_port_, "/big.bin");
  Download fast(http_port_, "/big.bin");
  ASSERT_THAT(slow.head, ::testing::HasSubstr("X-Route: dl")) << slow.head;
  ASSERT_THAT(fast.head, ::testing::HasSubstr("X-Route: dl")) << fast.head;
  ASSERT_EQ(slow.length, kBig);

  const auto removed = Clock::now();
  proxy_->call("updateRoutes", routes_param("", 1));
  // Long: 24 MiB at 2 MiB/s needs 12 s (socket buffers hold several MiB of
  // it); the grace is 2 s. Short: 24 MiB at 48 MiB/s ends well inside it.
  std::size_t slow_bytes = 0;
  Clock::time_point slow_end;
  std::thread slow_thread([&] {
    slow_bytes = slow.read_rest(2 << 20, 30s);
    slow_end = Clock::now();
  });
  const std::size_t fast_bytes = fast.read_rest(48 << 20, 30s);
  slow_thread.join();

  EXPECT_EQ(fast_bytes, kBig);
  // Cut, not completed, and not before the grace.
  EXPECT_LT(slow_bytes, kBig);
  EXPECT_GE(slow_end - removed, grace_);
  EXPECT_THAT(proxy_->log(), ::testing::HasSubstr("1 route(s) removed"));
}

TEST_F(ProxyReload, AtTheGraceAWebSocketGetsACloseFrameAndTcpAFin) {
  grace_ = 1500ms;
  start();
  const auto tcp2_port = testing::free_port();
  auto extra = [&] {
    std::string e =
        "  - {name: ws2, priority: 11, match: {ports: " + std::to_string(http_port_) +
        ", path: /ws2}, action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(ws_->port) +
        "}], websocket: {pingInterval: 60000}}}\n"
        "  - {name: tcp2, match: {ports: " +
        std::to_string(tcp2_port) +
        "}, action: {type: forward, targets: [{host: 127.0.0.1, port: " + std::to_string(echo_->port()) +
        "}]}}\n";
    return e;
  };
  proxy_->call("updateRoutes", routes_param(extra(), 0));
  ASSERT_TRUE(wait_listening(tcp2_port));

  int tcp = connect_to(tcp2_port);
  ASSERT_GE(tcp, 0);
  ASSERT_TRUE(send_all(tcp, "before"));
  ASSERT_EQ(read_some_until(tcp, 6), "before");
  boost::json::object ws;
  std::thread ws_thread([&] {
    ws = run_client("ws_client.mjs",
                    {"--url", "ws://127.0.0.1:" + std::to_string(http_port_) + "/ws2", "--messages", "1",
                     "--hold-ms", "20000", "--interval-ms", "100"},
                    60s);
  });
  std::this_thread::sleep_for(1s);
  const auto removed = Clock::now();
  proxy_->call("updateRoutes", routes_param("", 1));
  // The TCP connection keeps working inside the grace...
  ASSERT_TRUE(send_all(tcp, "during"));
  EXPECT_EQ(read_some_until(tcp, 6), "during");
  // ...and then ends with a FIN (EOF, no reset).
  EXPECT_TRUE(closed_by_peer(tcp, 10s));
  EXPECT_GE(Clock::now() - removed, grace_);
  ::close(tcp);
  ws_thread.join();
  EXPECT_FALSE(ws.contains("ok") && ws.at("ok").as_bool());
  EXPECT_THAT(boost::json::serialize(ws), ::testing::HasSubstr("1001"));
  EXPECT_THAT(boost::json::serialize(ws), ::testing::HasSubstr("route removed"));
}

}  // namespace
}  // namespace basalt::proxy_test
