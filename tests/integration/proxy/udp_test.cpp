// UDP routes (docs/proxy.md, "UDP routes"): DNS over UDP through the proxy
// to basalt-dns with dig and with dnsperf (many clients at once, nothing
// lost); a session per client address and port that ends after
// sessionTimeout (the backend then sees a new source port);
// maxSessionsPerIP; a backend that never answers (the client times out,
// others are served, the session expires) and one whose port is closed
// (ICMP port unreachable ends the session); ipBlockList per datagram
// source; oversized datagrams dropped; socketHandler echo over UDP and TCP
// on one `transport: all` port; the datagram counters of getStatistics.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 3600
@        IN SOA  ns1 hostmaster 2026120301 7200 3600 1209600 300
@        IN NS   ns1
ns1      IN A    127.0.0.1
www      IN A    192.0.2.80
)";

sockaddr_in loopback(const std::string& address, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  return a;
}

// A UDP client socket bound to `source` (any port) and connected to the proxy.
class UdpClient {
 public:
  UdpClient(std::uint16_t port, const std::string& source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto from = loopback(source, 0);
    auto to = loopback("127.0.0.1", port);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from);
    ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  void send(const std::string& data) { ::send(fd_, data.data(), data.size(), 0); }
  // The next datagram within `timeout`; nullopt when none comes.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = 2s) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }
  std::optional<std::string> exchange(const std::string& data, std::chrono::milliseconds timeout = 2s) {
    send(data);
    return receive(timeout);
  }

 private:
  int fd_ = -1;
};

// An in-process UDP backend on 127.0.0.1: answers "<name>:<payload>"
// (kEcho) or never answers (kSilent); records the source port of every
// datagram it gets.
class UdpBackend {
 public:
  enum class Mode { kEcho, kSilent };
  UdpBackend(std::string name, Mode mode) : name_(std::move(name)), mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto at = loopback("127.0.0.1", 0);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at);
    socklen_t len = sizeof at;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&at), &len);
    port_ = ntohs(at.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~UdpBackend() {
    stopping_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }
  int datagrams() const { return datagrams_.load(); }
  std::vector<std::uint16_t> source_ports() {
    std::lock_guard lock(mutex_);
    return ports_;
  }

 private:
  void serve() {
    char buf[65536];
    while (!stopping_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      auto n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) continue;
      {
        std::lock_guard lock(mutex_);
        ports_.push_back(ntohs(from.sin_port));
      }
      ++datagrams_;
      if (mode_ == Mode::kSilent) continue;
      std::string answer = name_ + ":" + std::string(buf, static_cast<std::size_t>(n));
      ::sendto(fd_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  std::string name_;
  Mode mode_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> datagrams_{0};
  std::mutex mutex_;
  std::vector<std::uint16_t> ports_;
  std::thread thread_;
};

// A UDP port nobody listens on (bound once, then closed).
std::uint16_t closed_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto at = loopback("127.0.0.1", 0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at);
  socklen_t len = sizeof at;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &len);
  ::close(fd);
  return ntohs(at.sin_port);
}

class UdpRoutesTest : public ::testing::Test {
 protected:
  // A proxy on `yaml`'s routes plus a TCP route on ready_port_ (what the
  // fixture waits for).
  void start(const std::string& routes, int workers = 2, const std::string& options = "") {
    ready_port_ = testing::free_port();
    const std::string yaml = options + "routes:\n" + routes +
                             "  - name: ready\n    match: {ports: " + std::to_string(ready_port_) +
                             "}\n    action: {type: socket-handler, socketHandler: {type: block}}\n";
    proxy_.emplace(dir_, yaml, ready_port_, workers);
    ASSERT_TRUE(proxy_->ready()) << proxy_->log();
  }
  // updateRoutes with `routes` (JSON objects) plus the ready route.
  void update(std::vector<std::string> routes) {
    boost::json::array list;
    for (const auto& r : routes) list.push_back(boost::json::parse(r));
    list.push_back(
        boost::json::parse("{\"name\": \"ready\", \"match\": {\"ports\": " + std::to_string(ready_port_) +
                           "}, \"action\": {\"type\": \"socket-handler\", \"socketHandler\": "
                           "{\"type\": \"block\"}}}"));
    proxy_->call("updateRoutes", {{"routes", list}});
  }
  boost::json::object udp_stats() { return proxy_->call("getStatistics").as_object().at("udp").as_object(); }
  std::uint64_t udp_stat(const std::string& key) { return udp_stats().at(key).to_number<std::uint64_t>(); }
  std::uint64_t dropped(const std::string& reason) {
    const auto stats = udp_stats();
    const auto& by = stats.at("dropped").as_object().at("byReason").as_object();
    auto it = by.find(reason);
    return it == by.end() ? 0 : it->value().to_number<std::uint64_t>();
  }

  TempDir dir_;
  std::uint16_t ready_port_ = 0;
  std::optional<ProxyDaemon> proxy_;
};

class DnsThroughProxy : public UdpRoutesTest {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    BASALT_REQUIRE_TOOL("dnsperf");
    std::ofstream(dir_.file("example.test.zone")) << kZone;
    dns_port_ = testing::free_port();
    dns_.emplace(Process::Options{.argv = {testing::binary("basalt-dns"), "serve", "--listen",
                                           "127.0.0.1:" + std::to_string(dns_port_), "--zone-file",
                                           dir_.file("example.test.zone"), "--log-level", "warn"}});
    port_ = testing::free_port();
    metrics_port_ = testing::free_port();
    start("  - name: dns\n    match: {ports: " + std::to_string(port_) +
              ", transport: udp}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
              std::to_string(dns_port_) + "}]}\n",
          2, "metrics: {listen: \"127.0.0.1:" + std::to_string(metrics_port_) + "\"}\n");
  }
  void TearDown() override {
    if (dns_ && dns_->running()) {
      dns_->signal(SIGTERM);
      dns_->wait(10s);
    }
  }
  testing::RunResult dig(const std::string& name) {
    return testing::run(
        {"dig", "@127.0.0.1", "-p", std::to_string(port_), "+time=2", "+tries=1", "+short", name, "A"});
  }
  std::uint16_t dns_port_ = 0;
  std::uint16_t port_ = 0;
  std::uint16_t metrics_port_ = 0;
  std::optional<Process> dns_;
};

TEST_F(DnsThroughProxy, DigGetsTheAnswerAndTheDatagramsAreCounted) {
  // basalt-dns may still be starting: the first queries can go unanswered.
  ASSERT_TRUE(eventually([&] { return dig("www.example.test").out == "192.0.2.80\n"; })) << proxy_->log();
  auto r = dig("ns1.example.test");
  EXPECT_EQ(r.out, "127.0.0.1\n");

  auto stats = udp_stats();
  EXPECT_GE(stats.at("datagramsIn").to_number<std::uint64_t>(), 2u);
  EXPECT_GE(stats.at("datagramsOut").to_number<std::uint64_t>(), 2u);
  EXPECT_GT(stats.at("bytesOut").to_number<std::uint64_t>(), stats.at("bytesIn").to_number<std::uint64_t>())
      << "answers carry the question and records";
  const auto& route = stats.at("byRoute").as_object().at("dns").as_object();
  EXPECT_GE(route.at("datagramsIn").to_number<std::uint64_t>(), 2u);
  EXPECT_GE(route.at("datagramsOut").to_number<std::uint64_t>(), 2u);
  EXPECT_THAT(stats.at("listeningPorts").as_array(), ::testing::Contains(port_));
  // The same counters under getMetrics.
  auto metrics = proxy_->call("getMetrics").as_object();
  EXPECT_GE(metrics.at("udp").as_object().at("datagramsIn").to_number<std::uint64_t>(), 2u);
  // And in Prometheus.
  BASALT_REQUIRE_TOOL("curl");
  auto text = curl({"-s", "http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out,
              ::testing::ContainsRegex(
                  "basalt_proxy_udp_route_datagrams_total\\{route=\"dns\",direction=\"out\"\\} [1-9]"));
  EXPECT_THAT(text.out, ::testing::ContainsRegex("basalt_proxy_udp_sessions_total [1-9]"))
      << "each dig is a client socket of its own, so a session";
}

TEST_F(DnsThroughProxy, DigOverIpv6GetsItsAnswer) {
  // The proxy listens on every IPv4 and IPv6 address (bindAddresses unset);
  // the IPv6 socket answers from ::1 (IPV6_PKTINFO).
  if (::access("/proc/net/if_inet6", R_OK) != 0) GTEST_SKIP() << "no IPv6 on this host";
  ASSERT_TRUE(eventually([&] { return dig("www.example.test").out == "192.0.2.80\n"; })) << proxy_->log();
  auto r = testing::run(
      {"dig", "@::1", "-p", std::to_string(port_), "+time=2", "+tries=1", "+short", "www.example.test", "A"});
  EXPECT_EQ(r.out, "192.0.2.80\n") << r.err;
}

TEST_F(DnsThroughProxy, DnsperfWithManyClientsLosesNothing) {
  ASSERT_TRUE(eventually([&] { return dig("www.example.test").out == "192.0.2.80\n"; })) << proxy_->log();
  std::ofstream(dir_.file("queries.txt")) << "www.example.test A\nns1.example.test A\nexample.test SOA\n"
                                             "example.test NS\nmissing.example.test A\n";
  // 64 clients (64 sessions), each query file pass sent 200 times.
  auto r = testing::run({"dnsperf", "-s", "127.0.0.1", "-p", std::to_string(port_), "-d",
                         dir_.file("queries.txt"), "-c", "64", "-n", "200", "-t", "5", "-q", "64"},
                        60s);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("Queries sent:\\s+(\\d+)"))) << r.out;
  EXPECT_EQ(std::stoll(m[1]), 1000) << r.out;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("Queries lost:\\s+(\\d+)"))) << r.out;
  EXPECT_EQ(std::stoll(m[1]), 0) << r.out;
  EXPECT_GE(udp_stat("totalSessions"), 64u) << "one session per client socket";
}

TEST_F(UdpRoutesTest, SessionsEndAfterTheirTimeoutAndTheBackendSeesANewPort) {
  UdpBackend backend("b", UdpBackend::Mode::kEcho);
  const auto port = testing::free_port();
  start("  - name: echo\n    match: {ports: " + std::to_string(port) +
        ", transport: udp}\n    action:\n      type: forward\n      targets: [{host: 127.0.0.1, port: " +
        std::to_string(backend.port()) + "}]\n      udp: {sessionTimeout: 500}\n");
  UdpClient client(port);
  EXPECT_EQ(client.exchange("one"), "b:one");
  EXPECT_EQ(client.exchange("two"), "b:two");
  auto ports = backend.source_ports();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0], ports[1]) << "one session, one backend socket";
  EXPECT_EQ(udp_stat("activeSessions"), 1u);

  ASSERT_TRUE(eventually([&] { return udp_stat("expiredSessions") == 1; }, 10s));
  EXPECT_EQ(udp_stat("activeSessions"), 0u);
  EXPECT_EQ(client.exchange("three"), "b:three") << "the same client gets a new session";
  ports = backend.source_ports();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_NE(ports[2], ports[0]) << "a new session has a new backend socket";
}

TEST_F(UdpRoutesTest, MaxSessionsPerIpRefusesNewClientsOfThatAddressOnly) {
  UdpBackend backend("b", UdpBackend::Mode::kEcho);
  const auto port = testing::free_port();
  start("  - name: capped\n    match: {ports: " + std::to_string(port) +
        ", transport: udp}\n    action:\n      type: forward\n      targets: [{host: 127.0.0.1, port: " +
        std::to_string(backend.port()) + "}]\n      udp: {maxSessionsPerIP: 2}\n");
  UdpClient first(port), second(port), third(port), other(port, "127.0.0.2");
  EXPECT_EQ(first.exchange("1"), "b:1");
  EXPECT_EQ(second.exchange("2"), "b:2");
  EXPECT_EQ(third.exchange("3", 500ms), std::nullopt) << "a third session from 127.0.0.1";
  EXPECT_EQ(other.exchange("4"), "b:4") << "another address has its own count";
  EXPECT_EQ(first.exchange("5"), "b:5") << "existing sessions keep working";
  EXPECT_GE(dropped("ip_max_sessions"), 1u);
  EXPECT_EQ(udp_stat("activeSessions"), 3u);
}

TEST_F(UdpRoutesTest, ABackendThatNeverAnswersCostsOnlyItsOwnSession) {
  UdpBackend silent("s", UdpBackend::Mode::kSilent);
  UdpBackend echo("e", UdpBackend::Mode::kEcho);
  const auto silent_port = testing::free_port();
  const auto echo_port = testing::free_port();
  start("  - name: silent\n    match: {ports: " + std::to_string(silent_port) +
        ", transport: udp}\n    action:\n      type: forward\n      targets: [{host: 127.0.0.1, port: " +
        std::to_string(silent.port()) + "}]\n      udp: {sessionTimeout: 1000}\n" +
        "  - name: echo\n    match: {ports: " + std::to_string(echo_port) +
        ", transport: udp}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(echo.port()) + "}]}\n");
  UdpClient waiting(silent_port);
  EXPECT_EQ(waiting.exchange("hello?", 500ms), std::nullopt);
  EXPECT_TRUE(eventually([&] { return silent.datagrams() == 1; })) << "the datagram reached the backend";
  UdpClient served(echo_port);
  EXPECT_EQ(served.exchange("hi"), "e:hi");
  ASSERT_TRUE(eventually([&] { return udp_stat("expiredSessions") >= 1; }, 10s));
  EXPECT_EQ(udp_stat("activeSessions"), 1u) << "the silent backend's session expired; the echo one is open";
}

TEST_F(UdpRoutesTest, ABackendPortThatIsClosedEndsTheSession) {
  const auto dead = closed_udp_port();
  const auto port = testing::free_port();
  start("  - name: dead\n    match: {ports: " + std::to_string(port) +
        ", transport: udp}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(dead) + "}]}\n");
  UdpClient client(port);
  EXPECT_EQ(client.exchange("anyone?", 500ms), std::nullopt);
  // The ICMP port unreachable shows on the session's next send or read.
  client.send("again");
  ASSERT_TRUE(eventually([&] { return dropped("backend_refused") >= 1; })) << proxy_->log();
  EXPECT_TRUE(eventually([&] { return udp_stat("activeSessions") == 0; }));
}

TEST_F(UdpRoutesTest, BlockListAndSizeLimitDropDatagrams) {
  UdpBackend backend("b", UdpBackend::Mode::kEcho);
  const auto port = testing::free_port();
  start("  - name: guarded\n    match: {ports: " + std::to_string(port) +
        ", transport: udp}\n    action:\n      type: forward\n      targets: [{host: 127.0.0.1, port: " +
        std::to_string(backend.port()) +
        "}]\n      udp: {maxDatagramSize: 100}\n    security: {ipBlockList: [127.0.0.2]}\n");
  UdpClient allowed(port), blocked(port, "127.0.0.2");
  EXPECT_EQ(allowed.exchange("ok"), "b:ok");
  EXPECT_EQ(blocked.exchange("let me in", 500ms), std::nullopt);
  EXPECT_EQ(allowed.exchange(std::string(101, 'x'), 500ms), std::nullopt);
  EXPECT_EQ(allowed.exchange(std::string(100, 'y')), "b:" + std::string(100, 'y'));
  EXPECT_EQ(backend.datagrams(), 2);
  EXPECT_EQ(dropped("ip_blocked"), 1u);
  EXPECT_EQ(dropped("too_large"), 1u);
}

TEST_F(UdpRoutesTest, EchoHandlerAnswersOverUdpAndTcpOnOnePort) {
  const auto port = testing::free_port();
  start("  - name: echo\n    match: {ports: " + std::to_string(port) +
        ", transport: all}\n    action: {type: socket-handler, socketHandler: {type: echo}}\n");
  UdpClient a(port), b(port, "127.0.0.3");
  EXPECT_EQ(a.exchange("ping"), "ping");
  EXPECT_EQ(b.exchange(std::string(1400, 'z')), std::string(1400, 'z'));
  int fd = connect_to(port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, "over tcp"));
  EXPECT_EQ(read_some_until(fd, 8), "over tcp");
  ::close(fd);
  const auto stats = udp_stats();
  const auto& route = stats.at("byRoute").as_object().at("echo").as_object();
  EXPECT_EQ(route.at("datagramsIn").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(route.at("datagramsOut").to_number<std::uint64_t>(), 2u);
  EXPECT_EQ(udp_stat("totalSessions"), 0u) << "a handler keeps no session";
}

TEST_F(UdpRoutesTest, UpdateRoutesKeepsOpenSessionsOnTheirBackend) {
  UdpBackend one("one", UdpBackend::Mode::kEcho);
  UdpBackend two("two", UdpBackend::Mode::kEcho);
  const auto port = testing::free_port();
  auto route = [&](std::uint16_t target) {
    return "  - name: r\n    match: {ports: " + std::to_string(port) +
           ", transport: udp}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
           std::to_string(target) + "}]}\n";
  };
  start(route(one.port()));
  UdpClient early(port);
  EXPECT_EQ(early.exchange("a"), "one:a");
  boost::json::array routes;
  routes.push_back(boost::json::parse("{\"name\": \"r\", \"match\": {\"ports\": " + std::to_string(port) +
                                      ", \"transport\": \"udp\"}, \"action\": {\"type\": \"forward\", "
                                      "\"targets\": [{\"host\": \"127.0.0.1\", \"port\": " +
                                      std::to_string(two.port()) + "}]}}"));
  routes.push_back(
      boost::json::parse("{\"name\": \"ready\", \"match\": {\"ports\": " + std::to_string(ready_port_) +
                         "}, \"action\": {\"type\": \"socket-handler\", \"socketHandler\": "
                         "{\"type\": \"block\"}}}"));
  proxy_->call("updateRoutes", {{"routes", routes}});
  UdpClient late(port);
  EXPECT_EQ(late.exchange("b"), "two:b") << "new sessions use the new route";
  EXPECT_EQ(early.exchange("c"), "one:c") << "an open session keeps its backend";
}

TEST_F(UdpRoutesTest, SessionsOfARemovedRouteEndAtDrainGrace) {
  UdpBackend backend("b", UdpBackend::Mode::kEcho);
  const auto port = testing::free_port();
  const std::string other = "{\"name\": \"other\", \"match\": {\"ports\": " + std::to_string(port) +
                            ", \"transport\": \"udp\", \"clientIp\": [\"127.0.0.9\"]}, \"action\": "
                            "{\"type\": \"socket-handler\", \"socketHandler\": {\"type\": \"echo\"}}}";
  start("  - name: gone\n    match: {ports: " + std::to_string(port) +
            ", transport: udp}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
            std::to_string(backend.port()) + "}]}\n",
        2, "drainGrace: 1500\n");
  UdpClient client(port);
  EXPECT_EQ(client.exchange("before"), "b:before");
  update({other});  // the port stays (another route uses it); "gone" is removed
  EXPECT_EQ(client.exchange("within the grace"), "b:within the grace");
  ASSERT_TRUE(eventually([&] { return udp_stat("activeSessions") == 0; }, 10s)) << "ended at the grace";
  EXPECT_EQ(client.exchange("after", 500ms), std::nullopt) << "no route for 127.0.0.1 any more";
  EXPECT_GE(dropped("no_route"), 1u);
}

TEST_F(UdpRoutesTest, APortWithoutUdpRoutesClosesWithItsSessions) {
  UdpBackend backend("b", UdpBackend::Mode::kEcho);
  const auto port = testing::free_port();
  start("  - name: r\n    match: {ports: " + std::to_string(port) +
        ", transport: udp}\n    action: {type: forward, targets: [{host: 127.0.0.1, port: " +
        std::to_string(backend.port()) + "}]}\n");
  UdpClient client(port);
  EXPECT_EQ(client.exchange("hi"), "b:hi");
  EXPECT_EQ(udp_stat("activeSessions"), 1u);
  update({});
  EXPECT_EQ(udp_stat("activeSessions"), 0u) << "the port's sessions end with it";
  EXPECT_TRUE(udp_stats().at("listeningPorts").as_array().empty());
  EXPECT_EQ(client.exchange("anyone?", 500ms), std::nullopt);
}

TEST_F(UdpRoutesTest, ARouteWithDomainsIsRefusedForUdp) {
  const auto port = testing::free_port();
  start("  - name: ok\n    match: {ports: " + std::to_string(port) +
        ", transport: udp}\n    action: {type: socket-handler, socketHandler: {type: echo}}\n");
  boost::json::array routes;
  routes.push_back(
      boost::json::parse("{\"name\": \"bad\", \"match\": {\"ports\": " + std::to_string(port) +
                         ", \"transport\": \"udp\", \"domains\": \"a.test\"}, \"action\": "
                         "{\"type\": \"socket-handler\", \"socketHandler\": {\"type\": \"echo\"}}}"));
  EXPECT_THAT(proxy_->call_error("updateRoutes", {{"routes", routes}}),
              ::testing::HasSubstr("routes[0].match.domains: does not apply to UDP"));
  UdpClient client(port);
  EXPECT_EQ(client.exchange("still here"), "still here") << "a failed update changes nothing";
}

}  // namespace
}  // namespace basalt::proxy_test
