// basalt-proxy's layer-4 forwarding against real peers on loopback: nginx
// and scripted TCP backends behind it, curl and raw sockets in front.
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

std::string forward_route(const std::string& name, std::uint16_t port, const std::string& hosts,
                          std::uint16_t target_port, const std::string& extra = "") {
  return "  - name: " + name + "\n    match: {ports: " + std::to_string(port) +
         "}\n    action: {type: forward, targets: [{host: " + hosts +
         ", port: " + std::to_string(target_port) + "}]}\n" + extra;
}

TEST(ProxyL4, ForwardsHttpToNginxWithLargeBodies) {
  BASALT_REQUIRE_TOOL("nginx");
  BASALT_REQUIRE_TOOL("curl");
  TempDir dir;
  NginxBackend nginx(dir, "a", "", 64u << 20);
  ASSERT_TRUE(nginx.ready());
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + forward_route("web", port, "127.0.0.1", nginx.http_port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();

  auto url = "http://127.0.0.1:" + std::to_string(port);
  auto small = curl({url + "/hello.txt"});
  EXPECT_EQ(small.exit_code, 0) << small.err;
  EXPECT_EQ(small.out, "hello from nginx a\n");
  auto big = curl({"-o", "/dev/null", "-w", "%{size_download}", url + "/big.bin"});
  EXPECT_EQ(big.exit_code, 0) << big.err;
  EXPECT_EQ(big.out, std::to_string(64u << 20));
  // Keep-alive: several requests over one connection.
  auto many = curl({"-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects} ",
                    url + "/hello.txt", url + "/hello.txt", url + "/hello.txt"});
  EXPECT_EQ(many.out, "1 0 0 ");
}

TEST(ProxyL4, ServerThatSpeaksFirstIsRelayedWithoutClientBytes) {
  ScriptedBackend backend(ScriptedBackend::Mode::kBannerFirst);
  TempDir dir;
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + forward_route("smtp", port, "127.0.0.1", backend.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(read_some_until(fd, 12), "220 banner\r\n");
  ::close(fd);
}

TEST(ProxyL4, HalfCloseIsPassedOnInBothDirections) {
  ScriptedBackend backend(ScriptedBackend::Mode::kHalfClose);
  TempDir dir;
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + forward_route("half", port, "127.0.0.1", backend.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, std::string(300000, 'x')));
  ::shutdown(fd, SHUT_WR);  // the backend answers only after our FIN reached it
  EXPECT_EQ(read_some_until(fd, 1 << 20), "got 300000 bytes");
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
}

TEST(ProxyL4, HostsOfATargetAreTriedInTurn) {
  ScriptedBackend backend(ScriptedBackend::Mode::kEcho);
  TempDir dir;
  auto port = testing::free_port();
  // Nothing listens on 127.0.0.7 at the backend's port: refused, then 127.0.0.1.
  ProxyDaemon proxy(dir, "routes:\n" + forward_route("two", port, "[127.0.0.7, 127.0.0.1]", backend.port()),
                    port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "ping"));
  EXPECT_EQ(read_some_until(fd, 4), "ping");
  ::close(fd);
}

TEST(ProxyL4, PreservePortConnectsToTheClientsPort) {
  TempDir dir;
  auto port = testing::free_port();
  ScriptedBackend backend(ScriptedBackend::Mode::kEcho, "127.0.0.2", port);
  ASSERT_EQ(backend.port(), port);
  ProxyDaemon proxy(
      dir,
      "bindAddresses: [127.0.0.1]\nroutes:\n  - name: same\n    match: {ports: " + std::to_string(port) +
          "}\n    action: {type: forward, targets: [{host: 127.0.0.2, port: preserve}]}\n",
      port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "same port"));
  EXPECT_EQ(read_some_until(fd, 9), "same port");
  ::close(fd);
}

TEST(ProxyL4, RefusingBackendClosesTheClientAndIsLoggedAndCounted) {
  TempDir dir;
  auto port = testing::free_port();
  auto dead = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + forward_route("dead", port, "127.0.0.1", dead), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_TRUE(eventually([&] {
    return proxy.log().find("route dead: no backend reachable") != std::string::npos;
  })) << proxy.log();
  auto metrics = proxy.call("getMetrics");
  EXPECT_GE(metrics.at("refused").at("byReason").at("backend_connect_failed").to_number<int>(), 1) << metrics;
}

TEST(ProxyL4, SilentBackendIsCutByInactivityTimeout) {
  ScriptedBackend backend(ScriptedBackend::Mode::kSilent);
  TempDir dir;
  auto port = testing::free_port();
  ProxyDaemon proxy(
      dir, "inactivityTimeout: 300\nroutes:\n" + forward_route("silent", port, "127.0.0.1", backend.port()),
      port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "hello?"));
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
}

TEST(ProxyL4, ClientThatNeverSendsIsCutByInitialDataTimeout) {
  TempDir dir;
  write_certificate(dir, "web", {"web.test"});
  auto port = testing::free_port();
  // A TLS route must read the ClientHello first.
  ProxyDaemon proxy(
      dir,
      "initialDataTimeout: 300\nroutes:\n  - name: tls\n    match: {ports: " + std::to_string(port) +
          ", domains: web.test}\n    action: {type: socket-handler, socketHandler: {type: echo},"
          " tls: {mode: terminate, certificate: {cert: web.pem, key: web.key}}}\n",
      port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  EXPECT_TRUE(eventually([&] {
    return proxy.call("getMetrics").at("refused").at("byReason").as_object().contains("initial_data_timeout");
  }));
}

TEST(ProxyL4, BlockAndEchoSocketHandlers) {
  TempDir dir;
  auto block = testing::free_port();
  auto echo = testing::free_port();
  ProxyDaemon proxy(dir,
                    "routes:\n  - name: closed\n    match: {ports: " + std::to_string(block) +
                        "}\n    action: {type: socket-handler, socketHandler: {type: block}}\n"
                        "  - name: echo\n    match: {ports: " +
                        std::to_string(echo) +
                        "}\n    action: {type: socket-handler, socketHandler: {type: echo}}\n",
                    echo);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int b = connect_to(block);
  ASSERT_GE(b, 0);
  EXPECT_TRUE(closed_by_peer(b));
  ::close(b);
  int e = connect_to(echo);
  ASSERT_GE(e, 0);
  ASSERT_TRUE(send_all(e, "echo me"));
  EXPECT_EQ(read_some_until(e, 7), "echo me");
  ::close(e);
}

TEST(ProxyL4, ClientResetMidTransferDoesNotKillTheProxy) {
  BASALT_REQUIRE_TOOL("nginx");
  TempDir dir;
  NginxBackend nginx(dir, "a", "", 64u << 20);
  ASSERT_TRUE(nginx.ready());
  auto port = testing::free_port();
  std::ofstream(dir.file("proxy.yaml")) << "routes:\n"
                                        << forward_route("web", port, "127.0.0.1", nginx.http_port());
  // No management socket: nothing else in the process ignores SIGPIPE.
  // Alternating RST and FIN-with-unread-data while 64 MiB flow towards the
  // client also exercises the relay's teardown racing the next accept,
  // which reuses the closed descriptors' numbers.
  Process proxy({
      .argv = {testing::binary("basalt-proxy"), "serve", "--config", dir.file("proxy.yaml"), "--workers", "1",
               "--state-dir", dir.path()},
  });
  ASSERT_TRUE(wait_listening(port));
  for (int i = 0; i < 40 && proxy.running(); ++i) {
    int fd = connect_to(port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_FALSE(read_some_until(fd, 1 + i * 4096).empty()) << "connection " << i;
    if (i % 2 == 0) {
      linger reset{.l_onoff = 1, .l_linger = 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    }
    ::close(fd);  // RST (or FIN with unread data) while the proxy splices 64 MiB towards us
  }
  auto r = curl({"http://127.0.0.1:" + std::to_string(port) + "/hello.txt"});
  EXPECT_EQ(r.out, "hello from nginx a\n") << r.err;
  EXPECT_TRUE(proxy.running());
}

TEST(ProxyL4, ThousandsOfIdleConnectionsAndANewOneIsStillServed) {
  BASALT_REQUIRE_TOOL("nginx");
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  ASSERT_GE(limit.rlim_cur, 4096u);
  TempDir dir;
  ScriptedBackend backend(ScriptedBackend::Mode::kEcho);
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + forward_route("idle", port, "127.0.0.1", backend.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  constexpr int kIdle = 2000;
  std::vector<int> fds;
  for (int i = 0; i < kIdle; ++i) {
    int fd = connect_to(port);
    ASSERT_GE(fd, 0) << "connection " << i;
    fds.push_back(fd);
  }
  EXPECT_TRUE(eventually([&] { return backend.accepted() >= kIdle; }, std::chrono::seconds(30)))
      << backend.accepted();
  int fresh = connect_to(port);
  ASSERT_GE(fresh, 0);
  ASSERT_TRUE(send_all(fresh, "still here"));
  EXPECT_EQ(read_some_until(fresh, 10), "still here");
  ::close(fresh);
  auto stats = proxy.call("getStatistics");
  EXPECT_GE(stats.at("activeConnections").to_number<int>(), kIdle) << stats;
  for (int fd : fds) ::close(fd);
}

}  // namespace
}  // namespace basalt::proxy_test
