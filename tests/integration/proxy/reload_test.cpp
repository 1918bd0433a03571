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
#include <sys/socket.h>

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
  std::thread wrk_thread([&] { wrk = testing::run({"wrk", "-t1", "-c16", "-d12s", url}, 60s); });
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

  // wrk: every request answered 2xx, no socket error.
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
  const std::string dl = "  - {name: dl, priority: 20, match: {ports: " + std::to_string(http_port_) +
                         ", path: /big.bin}, action: {type: forward, targets: [{host: 127.0.0.1, port: " +
                         std::to_string(nginx_->http_port()) + "}]}}\n";
  proxy_->call("updateRoutes", routes_param(dl, 0));
  const std::string url = "http://127.0.0.1:" + std::to_string(http_port_) + "/big.bin";

  // Long: 24 MiB at 2 MiB/s needs 12 s (socket buffers hold several MiB of
  // it); the route goes 1 s in, its grace is 2 s.
  testing::RunResult slow;
  Clock::time_point slow_end;
  std::thread slow_thread([&] {
    slow = testing::run(
        {"curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "--limit-rate", "2M", url}, 30s);
    slow_end = Clock::now();
  });
  // Short: 24 MiB at 48 MiB/s, started just before the removal, ends well inside the grace.
  std::this_thread::sleep_for(1s);
  testing::RunResult fast;
  std::thread fast_thread([&] {
    fast = testing::run(
        {"curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "--limit-rate", "48M", url}, 30s);
  });
  std::this_thread::sleep_for(100ms);
  const auto removed = Clock::now();
  proxy_->call("updateRoutes", routes_param("", 1));
  slow_thread.join();
  fast_thread.join();

  EXPECT_EQ(fast.exit_code, 0);
  EXPECT_EQ(fast.out, std::to_string(kBig));
  // Cut, not completed, and not before the grace.
  EXPECT_NE(slow.exit_code, 0);
  EXPECT_LT(std::stoll(slow.out.empty() ? "0" : slow.out), static_cast<long long>(kBig));
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
