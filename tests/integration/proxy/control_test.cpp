// basalt-proxy's control plane against the real daemon: the management
// protocol (ports, routes, metrics, events), atomic route updates and SIGHUP
// reloads while traffic flows, `check`, startup failures, security limits
// from several loopback addresses and ::1, and the SIGTERM drain.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

std::string route(const std::string& name, std::uint16_t port, std::uint16_t target,
                  const std::string& extra = "") {
  return "  - name: " + name + "\n    match: {ports: " + std::to_string(port) +
         "}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " + std::to_string(target) +
         "}]}\n" + extra;
}

boost::json::array routes_json(const std::string& name, std::uint16_t port, std::uint16_t target) {
  boost::json::object r;
  r["name"] = name;
  r["match"] = boost::json::object{{"ports", port}};
  boost::json::object t;
  t["host"] = "127.0.0.1";
  t["port"] = target;
  r["action"] = boost::json::object{{"type", "forward"}, {"targets", boost::json::array{t}}};
  return boost::json::array{r};
}

std::string echo_through(std::uint16_t port, const std::string& text, const std::string& from = "127.0.0.1",
                         const std::string& to = "127.0.0.1") {
  int fd = connect_to(port, from, to);
  if (fd < 0) return "<no connection>";
  send_all(fd, text);
  auto got = read_some_until(fd, text.size(), std::chrono::seconds(5));
  ::close(fd);
  return got;
}

std::vector<int> ports_of(const boost::json::value& v) {
  std::vector<int> out;
  for (const auto& p : v.at("ports").as_array()) out.push_back(p.to_number<int>());
  return out;
}

TEST(ProxyControl, ManagementPortsRoutesAndMetrics) {
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  TempDir dir;
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + route("a", port, a.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();

  EXPECT_EQ(ports_of(proxy.call("getListeningPorts")), std::vector<int>{port});
  // A port without a route: connections are closed and counted.
  auto extra = testing::free_port();
  auto added = proxy.call("addListeningPort", {{"port", extra}});
  EXPECT_EQ(ports_of(added).size(), 2u);
  int fd = connect_to(extra);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
  proxy.call("removeListeningPort", {{"port", extra}});
  EXPECT_EQ(ports_of(proxy.call("getListeningPorts")), std::vector<int>{port});
  EXPECT_LT(connect_to(extra), 0) << "the port must be closed again";

  EXPECT_EQ(echo_through(port, "metrics"), "metrics");
  auto metrics = proxy.call("getMetrics", {{"topIPs", 5}, {"historySeconds", 10}});
  const auto& c = metrics.at("connections");
  EXPECT_GE(c.at("total").to_number<int>(), 1) << metrics;
  EXPECT_GE(c.at("byRoute").at("a").at("total").to_number<int>(), 1) << metrics;
  EXPECT_GE(metrics.at("refused").at("byReason").at("port_without_route").to_number<int>(), 1) << metrics;
  EXPECT_GE(metrics.at("bytes").at("in").to_number<int>(), 7) << metrics;
  EXPECT_NE(proxy.call_error("getMetrics", {{"topIPs", 5000}}).find("topIPs"), std::string::npos);

  // An invalid update names the path and changes nothing.
  auto bad = routes_json("a", port, a.port());
  bad[0].as_object()["match"].as_object()["ports"] = 70000;
  auto error = proxy.call_error("updateRoutes", {{"routes", bad}});
  EXPECT_NE(error.find("routes[0].match.ports"), std::string::npos) << error;
  EXPECT_EQ(echo_through(port, "still"), "still");
  EXPECT_EQ(ports_of(proxy.call("getListeningPorts")), std::vector<int>{port});
}

TEST(ProxyControl, UpdateRoutesUnderLoadDropsNothingAndKeepsOpenConnections) {
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  ScriptedBackend b(ScriptedBackend::Mode::kBannerFirst);
  TempDir dir;
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + route("web", port, a.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();

  int old_connection = connect_to(port);
  ASSERT_GE(old_connection, 0);
  ASSERT_TRUE(send_all(old_connection, "old"));
  ASSERT_EQ(read_some_until(old_connection, 3), "old");

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    while (!stop) {
      int fd = connect_to(port);
      if (fd < 0) {
        ++failed;
        continue;
      }
      bool good = send_all(fd, "x") && !read_some_until(fd, 1, std::chrono::seconds(5)).empty();
      ::close(fd);
      (good ? ok : failed)++;
    }
  });
  // Traffic flows before, between and after the updates.
  auto advanced = [&](int by) {
    int from = ok.load();
    return eventually([&] { return ok.load() >= from + by; });
  };
  ASSERT_TRUE(advanced(3));
  for (int i = 0; i < 6; ++i) {
    auto target = i % 2 == 0 ? b.port() : a.port();
    proxy.call("updateRoutes", {{"routes", routes_json("web", port, target)}});
    EXPECT_TRUE(advanced(3)) << "update " << i;
  }
  proxy.call("updateRoutes", {{"routes", routes_json("web", port, b.port())}});
  stop = true;
  load.join();
  EXPECT_EQ(failed.load(), 0) << ok.load() << " ok";
  EXPECT_GT(ok.load(), 0);
  // The connection opened before the updates still reaches backend a.
  ASSERT_TRUE(send_all(old_connection, "still a"));
  EXPECT_EQ(read_some_until(old_connection, 7), "still a");
  ::close(old_connection);
  // New connections see the new table: backend b speaks first.
  int fresh = connect_to(port);
  EXPECT_EQ(read_some_until(fresh, 12), "220 banner\r\n");
  ::close(fresh);
}

TEST(ProxyControl, SighupReloadsRoutesAndOpensNewPorts) {
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  TempDir dir;
  auto port = testing::free_port();
  auto second = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + route("a", port, a.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  std::ofstream(proxy.config_path()) << "workers: 7\nroutes:\n"
                                     << route("a", port, a.port()) << route("b", second, a.port());
  proxy.process().signal(SIGHUP);
  EXPECT_TRUE(wait_listening(second)) << proxy.log();
  EXPECT_EQ(echo_through(second, "reloaded"), "reloaded");
  EXPECT_NE(proxy.log().find("`workers` changes only with a restart"), std::string::npos) << proxy.log();
  // A broken file changes nothing.
  std::ofstream(proxy.config_path()) << "routes: [{match: {ports: 0}}]\n";
  proxy.process().signal(SIGHUP);
  EXPECT_TRUE(
      eventually([&] { return proxy.log().find("reload failed, nothing changed") != std::string::npos; }));
  EXPECT_EQ(echo_through(second, "kept"), "kept");
}

TEST(ProxyControl, CheckValidatesAFileLikeNginxT) {
  TempDir dir;
  std::ofstream(dir.file("good.yaml")) << "routes:\n" << route("a", 8080, 9090);
  std::ofstream(dir.file("bad.yaml"))
      << "routes:\n  - match: {ports: [1, 2]}\n    action: {type: forward, "
         "targets: [{host: 127.0.0.1, port: 1}]}\n  - match: {ports: [443, {from: "
         "1, to: 2}]}\n    action: {type: forward, targets: [{host: 127.0.0.1, "
         "port: 1}]}\n  - match: {ports: [443, {from: 8000, to: 70000}]}\n    "
         "action: {type: forward, targets: [{host: 127.0.0.1, port: 1}]}\n";
  auto good = testing::run({testing::binary("basalt-proxy"), "check", "--config", dir.file("good.yaml")});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  auto bad = testing::run({testing::binary("basalt-proxy"), "check", "--config", dir.file("bad.yaml")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("routes[2].match.ports[1].to: 70000 is not a port (1-65535)"), std::string::npos)
      << bad.err;
}

TEST(ProxyControl, PortHeldByAnotherProcessIsAClearStartupError) {
  TempDir dir;
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  ::bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(holder, 1);
  socklen_t len = sizeof a;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&a), &len);
  auto port = ntohs(a.sin_port);
  std::ofstream(dir.file("proxy.yaml")) << "routes:\n" << route("a", port, 9);
  auto r = testing::run({testing::binary("basalt-proxy"), "serve", "--config", dir.file("proxy.yaml"),
                         "--state-dir", dir.path()});
  ::close(holder);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(std::to_string(port) + "/tcp is already in use"), std::string::npos) << r.err;
}

TEST(ProxyControl, AllowBlockListsAndLimitsFromSeveralLoopbackAddresses) {
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  TempDir dir;
  auto guarded = testing::free_port();
  auto limited = testing::free_port();
  auto rated = testing::free_port();
  std::string yaml =
      "routes:\n" +
      route("guarded", guarded, a.port(),
            "    security: {ipAllowList: [\"127.0.0.0/8\", \"::1\"], ipBlockList: [\"127.0.0.66\", "
            "\"127.0.1.*\"]}\n") +
      route("limited", limited, a.port(), "    security: {maxConnectionsPerIP: 2}\n") +
      route("rated", rated, a.port(), "    security: {connectionRateLimitPerMinute: 3}\n");
  ProxyDaemon proxy(dir, yaml, rated);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  EXPECT_TRUE(eventually([&] { return a.accepted() == 1; }));  // the daemon's readiness probe
  const int before = a.accepted();

  EXPECT_EQ(echo_through(guarded, "ok", "127.0.0.1"), "ok");
  EXPECT_EQ(echo_through(guarded, "ok", "127.0.0.2"), "ok");
  EXPECT_EQ(echo_through(guarded, "ok", "::1", "::1"), "ok");
  int blocked = connect_to(guarded, "127.0.0.66");
  ASSERT_GE(blocked, 0);
  EXPECT_TRUE(closed_by_peer(blocked));
  ::close(blocked);
  int glob_blocked = connect_to(guarded, "127.0.1.9");
  ASSERT_GE(glob_blocked, 0);
  EXPECT_TRUE(closed_by_peer(glob_blocked));
  ::close(glob_blocked);

  // Two open connections from 127.0.0.3; the third is refused, another IP is not.
  int c1 = connect_to(limited, "127.0.0.3"), c2 = connect_to(limited, "127.0.0.3");
  ASSERT_TRUE(send_all(c1, "1") && send_all(c2, "2"));
  ASSERT_EQ(read_some_until(c1, 1), "1");
  ASSERT_EQ(read_some_until(c2, 1), "2");
  int c3 = connect_to(limited, "127.0.0.3");
  EXPECT_TRUE(closed_by_peer(c3));
  ::close(c3);
  EXPECT_EQ(echo_through(limited, "other", "127.0.0.4"), "other");
  ::close(c1);
  EXPECT_TRUE(eventually([&] { return echo_through(limited, "again", "127.0.0.3") == "again"; }));
  ::close(c2);

  // Three connections a minute from 127.0.0.5; the fourth is refused.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(echo_through(rated, "r", "127.0.0.5"), "r") << i;
  int over = connect_to(rated, "127.0.0.5");
  EXPECT_TRUE(closed_by_peer(over));
  ::close(over);

  auto reasons = proxy.call("getMetrics").at("refused").at("byReason");
  EXPECT_GE(reasons.at("ip_blocked").to_number<int>(), 2) << reasons;
  EXPECT_GE(reasons.at("ip_max_connections").to_number<int>(), 1) << reasons;
  EXPECT_GE(reasons.at("ip_rate_limit").to_number<int>(), 1) << reasons;
  // 3 guarded + 2 + 1 + 1 limited + 3 rated were admitted; the refused ones cost no backend connection.
  EXPECT_EQ(a.accepted() - before, 10);
}

TEST(ProxyControl, ConnectionEventsReachManagementClients) {
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  TempDir dir;
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "routes:\n" + route("evented", port, a.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  // A raw management client that keeps reading events.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", proxy.socket().c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_TRUE(send_all(fd, R"({"id":"1","method":"setConnectionEvents","params":{"enabled":true}})"
                           "\n"));
  std::string seen;
  EXPECT_TRUE(eventually([&] {
    seen += read_some_until(fd, 1, std::chrono::milliseconds(50));
    return seen.find(R"("id":"1")") != std::string::npos;
  }));
  EXPECT_EQ(echo_through(port, "event"), "event");
  EXPECT_TRUE(eventually([&] {
    seen += read_some_until(fd, 1, std::chrono::milliseconds(50));
    return seen.find(R"("bytesIn":5)") != std::string::npos;
  })) << seen;
  EXPECT_NE(seen.find("connectionClosed"), std::string::npos);
  EXPECT_NE(seen.find("connectionOpened"), std::string::npos);
  EXPECT_NE(seen.find(R"("route":"evented")"), std::string::npos) << seen;
  EXPECT_NE(seen.find(R"("bytesIn":5)"), std::string::npos) << seen;
  ::close(fd);
}

TEST(ProxyControl, SigtermDrainsOpenConnectionsThenExitsZero) {
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  TempDir dir;
  auto port = testing::free_port();
  ProxyDaemon proxy(dir, "gracefulShutdownTimeout: 20000\nroutes:\n" + route("a", port, a.port()), port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  int open = connect_to(port);
  ASSERT_TRUE(send_all(open, "1"));
  ASSERT_EQ(read_some_until(open, 1), "1");
  proxy.process().signal(SIGTERM);
  // New connections are refused at once; the open one keeps working.
  EXPECT_TRUE(eventually([&] {
    int probe = connect_to(port);
    if (probe >= 0) ::close(probe);
    return probe < 0;
  }));
  ASSERT_TRUE(send_all(open, "2"));
  EXPECT_EQ(read_some_until(open, 1), "2");
  ::close(open);
  EXPECT_EQ(proxy.process().wait(std::chrono::seconds(15)), 0);
}

TEST(ProxyControl, EngineModeStartsIdleAndTakesItsConfigFromTheDriver) {
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  auto port = testing::free_port();
  Process engine({.argv = {testing::binary("basalt-proxy"), "--management"}, .capture_stderr = true});
  auto ready = engine.read_line();
  ASSERT_TRUE(ready);
  EXPECT_NE(ready->find(R"("event":"ready")"), std::string::npos) << *ready;
  // Idle: commands that need a proxy say so.
  engine.write(R"({"id":"1","method":"getListeningPorts","params":{}})"
               "\n");
  auto idle = engine.read_line();
  ASSERT_TRUE(idle);
  EXPECT_NE(idle->find("not started"), std::string::npos) << *idle;

  boost::json::object config;
  config["routes"] = routes_json("engine", port, a.port());
  boost::json::object request{{"id", "2"}, {"method", "start"}, {"params", {{"config", config}}}};
  engine.write(boost::json::serialize(request) + "\n");
  std::string lines;
  for (int i = 0; i < 3 && lines.find(R"("id":"2")") == std::string::npos; ++i)
    lines += engine.read_line().value_or("");
  EXPECT_NE(lines.find(R"("id":"2","success":true)"), std::string::npos) << lines;
  EXPECT_EQ(echo_through(port, "engine"), "engine");

  engine.write(R"({"id":"3","method":"stop","params":{}})"
               "\n");
  lines.clear();
  for (int i = 0; i < 3 && lines.find(R"("id":"3")") == std::string::npos; ++i)
    lines += engine.read_line().value_or("");
  EXPECT_NE(lines.find(R"("id":"3","success":true)"), std::string::npos) << lines;
  EXPECT_LT(connect_to(port), 0) << "stop closes the ports";
  engine.close_stdin();
  EXPECT_EQ(engine.wait(), 0);
}

TEST(ProxyControl, PrometheusListenerAndPrivilegeDrop) {
  if (::geteuid() != 0) GTEST_SKIP() << "dropping privileges needs root";
  ScriptedBackend a(ScriptedBackend::Mode::kEcho);
  TempDir dir;
  auto port = testing::free_port();
  auto metrics_port = testing::free_port();
  ProxyDaemon proxy(dir,
                    "user: nobody\nmetrics: {listen: \"127.0.0.1:" + std::to_string(metrics_port) +
                        "\"}\nroutes:\n" + route("prom", port, a.port()),
                    port);
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  EXPECT_EQ(echo_through(port, "count me"), "count me");
  auto text = curl({"http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("basalt_proxy_route_connections_total{route=\"prom\"}"), std::string::npos)
      << text.out;
  std::ifstream status("/proc/" + std::to_string(proxy.process().pid()) + "/status");
  std::string line, uid;
  while (std::getline(status, line))
    if (line.starts_with("Uid:")) uid = line;
  EXPECT_EQ(uid.find("\t0\t"), std::string::npos) << "still root: " << uid;
  EXPECT_NE(proxy.log().find("running as nobody"), std::string::npos) << proxy.log();
}

}  // namespace
}  // namespace basalt::proxy_test
