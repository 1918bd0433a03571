// Kernel forwarding (docs/proxy.md, "Kernel forwarding (nftables)"), with
// real namespaces: the test makes a client, a proxy and a backend network
// namespace joined by veth pairs (TEST-NET addresses that exist only inside
// them), runs basalt-proxy in the proxy namespace and checks, with nft
// listing the tables back, that
//   - a client's connection reaches the backend through the kernel's DNAT
//     (masqueraded, or with the client's address under preserveSourceIP)
//     while the proxy's own connection counters stay at zero;
//   - the table is there while the proxy runs and gone after SIGTERM;
//   - updateRoutes moves a route's port in one step, and an update that
//     fails (a table the proxy does not own) changes nothing;
//   - after kill -9 the table stays, and the next start removes it;
//   - a successor taking over keeps the rules, the old process leaves them;
//   - a table the proxy did not make is never touched;
//   - forwarding switched off on the host is a clear start error.
// Needs root (network namespaces, nftables): without it the tests skip with
// the reason; under CI=true they fail.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <functional>
#include <thread>

#include "basalt/core/management/client.hpp"
#include "fixture.hpp"

namespace basalt::proxy_test {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

#define BASALT_REQUIRE_ROOT()                                                                              \
  do {                                                                                                     \
    if (::geteuid() != 0) {                                                                                \
      if (::basalt::testing::in_ci()) FAIL() << "network namespaces and nftables need root";               \
      GTEST_SKIP() << "network namespaces and nftables need root (run as root to test kernel forwarding)"; \
    }                                                                                                      \
  } while (0)

testing::RunResult sh(const std::vector<std::string>& argv) {
  return testing::run(argv, 30s);
}

// Runs `fn` on a thread that has entered network namespace `ns`.
template <class F>
auto in_netns(const std::string& ns, F fn) -> decltype(fn()) {
  decltype(fn()) result{};
  std::thread t([&] {
    const int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) return;
    ::close(fd);
    result = fn();
  });
  t.join();
  return result;
}

int connect_to(const std::string& ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&p, 1, 5000) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// What a client in `ns` gets from ip:port after sending `message`: the
// backend's "peer <address>" line and the echo; "refused" when no
// connection could be made.
std::string talk(const std::string& ns, const std::string& ip, std::uint16_t port,
                 const std::string& message) {
  return in_netns(ns, [&]() -> std::string {
    const int fd = connect_to(ip, port);
    if (fd < 0) return "refused";
    send_all(fd, message);
    ::shutdown(fd, SHUT_WR);
    std::string got = read_some_until(fd, std::string::npos, 5s);
    ::close(fd);
    return got;
  });
}

// A TCP backend in a namespace: on each connection it writes "peer <client
// address>\n", then echoes what it reads until the client closes.
class NsBackend {
 public:
  NsBackend(const std::string& ns, std::vector<std::uint16_t> ports) {
    ::pipe2(stop_, O_CLOEXEC);
    std::atomic<bool> listening{false};
    thread_ = std::thread([this, ns, ports, &listening] {
      const int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        listening = true;
        return;
      }
      ::close(fd);
      for (auto port : ports) {
        const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        if (::bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && ::listen(s, 64) == 0)
          listeners_.push_back(s);
      }
      listening = true;
      serve();
    });
    while (!listening) std::this_thread::sleep_for(5ms);
  }
  ~NsBackend() {
    ::write(stop_[1], "x", 1);
    thread_.join();
    for (int s : listeners_) ::close(s);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  bool ready() const { return !listeners_.empty(); }
  int connections() const { return connections_; }

 private:
  void serve() {
    for (;;) {
      std::vector<pollfd> fds{{stop_[0], POLLIN, 0}};
      for (int s : listeners_) fds.push_back({s, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) return;
      if (fds[0].revents) return;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        sockaddr_in peer{};
        socklen_t len = sizeof peer;
        const int c = ::accept4(fds[i].fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
        if (c < 0) continue;
        ++connections_;
        char text[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &peer.sin_addr, text, sizeof text);
        send_all(c, "peer " + std::string(text) + "\n");
        const std::string got = read_some_until(c, 1, 5s);
        send_all(c, got);
        ::shutdown(c, SHUT_WR);
        closed_by_peer(c, 5s);
        ::close(c);
      }
    }
  }
  int stop_[2] = {-1, -1};
  std::vector<int> listeners_;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// basalt-proxy serve inside a network namespace.
class NsProxy {
 public:
  // With `takeover`: `serve --takeover`, replacing the proxy serving on
  // the same state dir.
  NsProxy(const std::string& ns, const TempDir& dir, const std::string& config, bool takeover = false)
      : socket_(dir.file("proxy.sock")), log_(dir.file("proxy.log")) {
    const auto config_path = dir.file("proxy.yaml");
    std::ofstream(config_path) << config;
    if (!takeover) ::unlink(socket_.c_str());
    process_.emplace(Process::Options{
        .argv = {"/bin/sh", "-c",
                 "exec ip netns exec " + ns + " " + testing::binary("basalt-proxy") + " serve --config " +
                     config_path + " --workers 1 --state-dir " + dir.file("state") + " --management-socket " +
                     socket_ + " --log-level debug" + (takeover ? " --takeover" : "") + " 2>>" + log_}});
    ready_ = eventually([this] {
      if (!process_->running()) return true;
      try {
        call("getStatistics");
        return true;
      } catch (const std::exception&) {
        return false;
      }
    });
    ready_ = ready_ && process_->running();
  }
  ~NsProxy() {
    if (process_->running()) stop();
  }
  bool ready() const { return ready_; }
  boost::json::value call(const std::string& method, const boost::json::object& params = {}) {
    core::management::Client client(socket_);
    return client.call(method, params, {}, 30s);
  }
  std::string call_error(const std::string& method, const boost::json::object& params) {
    try {
      call(method, params);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
  std::optional<int> stop() {
    process_->signal(SIGTERM);
    return process_->wait(20s);
  }
  void kill9() {
    process_->signal(SIGKILL);
    process_->wait(10s);
  }
  Process& process() { return *process_; }
  std::string log() const {
    std::ifstream f(log_);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  std::string socket_;
  std::string log_;
  std::optional<Process> process_;
  bool ready_ = false;
};

constexpr const char* kProxyClientSide = "192.0.2.1";
constexpr const char* kClient = "192.0.2.2";
constexpr const char* kProxyBackendSide = "198.51.100.1";
constexpr const char* kBackend = "198.51.100.2";

// A kernel route (JSON, which is YAML) and a user-space echo route.
std::string kernel_route(std::uint16_t port, const std::string& nftables = "{}") {
  return R"({"name": "kernel", "match": {"ports": )" + std::to_string(port) +
         R"(}, "action": {"type": "forward", "forwardingEngine": "nftables", "targets": [{"host": ")" +
         kBackend + R"(", "port": 80}], "nftables": )" + nftables + "}}";
}
const std::string kEchoRoute =
    R"({"name": "echo", "match": {"ports": 9000}, "action": {"type": "socket-handler", "socketHandler": {"type": "echo"}}})";

std::string config_of(const std::vector<std::string>& routes) {
  std::string out = "routes:\n";
  for (const auto& r : routes) out += "  - " + r + "\n";
  return out;
}

boost::json::object routes_param(const std::vector<std::string>& routes) {
  boost::json::array list;
  for (const auto& r : routes) list.push_back(boost::json::parse(r));
  return {{"routes", list}};
}

class KernelForwarding : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_ROOT();
    BASALT_REQUIRE_TOOL("ip");
    BASALT_REQUIRE_TOOL("nft");
    const std::string id = std::to_string(::getpid() % 100000);
    client_ = "bpc" + id;
    proxy_ = "bpp" + id;
    backend_ = "bpb" + id;
    made_ = true;
    const std::vector<std::vector<std::string>> steps = {
        {"ip", "netns", "add", client_},
        {"ip", "netns", "add", proxy_},
        {"ip", "netns", "add", backend_},
        {"ip", "link", "add", "bpc0" + id, "netns", client_, "type", "veth", "peer", "name", "bpp0" + id,
         "netns", proxy_},
        {"ip", "link", "add", "bpp1" + id, "netns", proxy_, "type", "veth", "peer", "name", "bpb0" + id,
         "netns", backend_},
        {"ip", "-n", client_, "addr", "add", std::string(kClient) + "/24", "dev", "bpc0" + id},
        {"ip", "-n", proxy_, "addr", "add", std::string(kProxyClientSide) + "/24", "dev", "bpp0" + id},
        {"ip", "-n", proxy_, "addr", "add", std::string(kProxyBackendSide) + "/24", "dev", "bpp1" + id},
        {"ip", "-n", backend_, "addr", "add", std::string(kBackend) + "/24", "dev", "bpb0" + id},
        {"ip", "-n", client_, "link", "set", "lo", "up"},
        {"ip", "-n", proxy_, "link", "set", "lo", "up"},
        {"ip", "-n", backend_, "link", "set", "lo", "up"},
        {"ip", "-n", client_, "link", "set", "bpc0" + id, "up"},
        {"ip", "-n", proxy_, "link", "set", "bpp0" + id, "up"},
        {"ip", "-n", proxy_, "link", "set", "bpp1" + id, "up"},
        {"ip", "-n", backend_, "link", "set", "bpb0" + id, "up"},
        {"ip", "-n", client_, "route", "add", "default", "via", kProxyClientSide},
        // Only preserveSourceIP needs it: the answers to the client's own
        // address go back through the proxy host.
        {"ip", "-n", backend_, "route", "add", "default", "via", kProxyBackendSide},
        {"ip", "netns", "exec", proxy_, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
    };
    for (const auto& step : steps) {
      auto r = sh(step);
      ASSERT_EQ(r.exit_code, 0) << fmt_argv(step) << ": " << r.err;
    }
    backend_server_.emplace(backend_, std::vector<std::uint16_t>{80});
    ASSERT_TRUE(backend_server_->ready());
  }
  void TearDown() override {
    proxy_process_.reset();
    backend_server_.reset();
    if (!made_) return;
    // Deleting the namespaces deletes their veth pairs and tables too.
    for (const auto& ns : {client_, proxy_, backend_}) sh({"ip", "netns", "del", ns});
  }

  static std::string fmt_argv(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
    return out;
  }
  std::string nft(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"ip", "netns", "exec", proxy_, "nft"};
    argv.insert(argv.end(), args.begin(), args.end());
    return sh(argv).out;
  }
  std::string tables() { return nft({"list", "tables"}); }
  NsProxy& start(const std::vector<std::string>& routes) {
    proxy_process_.reset();
    proxy_process_.emplace(proxy_, dir_, config_of(routes));
    return *proxy_process_;
  }
  boost::json::object stats() { return proxy_process_->call("getStatistics").as_object(); }

  bool made_ = false;
  std::string client_, proxy_, backend_;
  TempDir dir_;
  std::optional<NsBackend> backend_server_;
  std::optional<NsProxy> proxy_process_;
};

TEST_F(KernelForwarding, TrafficReachesTheBackendThroughTheKernelOnly) {
  auto& proxy = start({kernel_route(8080), kEchoRoute});
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  EXPECT_THAT(tables(), HasSubstr("table inet basalt_proxy"));

  // Masqueraded: the backend sees the proxy host's address.
  EXPECT_EQ(talk(client_, kProxyClientSide, 8080, "ping\n"),
            "peer " + std::string(kProxyBackendSide) + "\nping\n");
  EXPECT_EQ(backend_server_->connections(), 1);

  auto s = stats();
  EXPECT_EQ(s["totalConnections"].to_number<std::int64_t>(), 0) << s;  // the proxy never saw it
  EXPECT_EQ(s["bytesIn"].to_number<std::int64_t>(), 0) << s;
  const auto& ports = s["listeningPorts"].as_array();
  EXPECT_EQ(std::find(ports.begin(), ports.end(), boost::json::value(8080)), ports.end()) << s;
  const auto& kernel = s["nftables"].as_object().at("kernel").as_object();
  EXPECT_TRUE(kernel.at("active").as_bool()) << s;
  EXPECT_EQ(kernel.at("ruleCount").as_object().at("total").to_number<std::int64_t>(), 3) << s;
  EXPECT_EQ(kernel.at("ruleCount").as_object().at("verified").to_number<std::int64_t>(), 3) << s;
  EXPECT_EQ(kernel.at("tablesConfigured").as_array(), (boost::json::array{"basalt_proxy"})) << s;

  // The user-space route next to it is counted as usual.
  EXPECT_EQ(talk(client_, kProxyClientSide, 9000, "hello\n"), "hello\n");
  EXPECT_TRUE(eventually([&] { return stats()["totalConnections"].to_number<std::int64_t>() == 1; }));

  // Rules removed outside the proxy show as not active.
  nft({"flush", "chain", "inet", "basalt_proxy", "nat_postrouting"});
  EXPECT_FALSE(stats()["nftables"].as_object().at("kernel").as_object().at("active").as_bool());

  EXPECT_EQ(proxy.stop(), 0) << proxy.log();
  EXPECT_THAT(tables(), Not(HasSubstr("basalt_proxy"))) << proxy.log();
  EXPECT_EQ(talk(client_, kProxyClientSide, 8080, "ping\n"), "refused");
}

TEST_F(KernelForwarding, UpdatesMoveRulesInOneStepAndAFailedOneChangesNothing) {
  // A table the proxy did not make: never touched.
  nft({"add", "table", "inet", "foreign"});
  nft({"add", "chain", "inet", "foreign", "keep"});
  const std::string foreign = nft({"list", "table", "inet", "foreign"});

  auto& proxy = start({kernel_route(8080), kEchoRoute});
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  ASSERT_THAT(talk(client_, kProxyClientSide, 8080, "a\n"), HasSubstr("a\n"));

  // The port moves, and preserveSourceIP shows the client's own address.
  ASSERT_EQ(proxy.call_error("updateRoutes",
                             routes_param({kernel_route(8081, R"({"preserveSourceIP": true})"), kEchoRoute})),
            "");
  EXPECT_EQ(talk(client_, kProxyClientSide, 8081, "b\n"), "peer " + std::string(kClient) + "\nb\n");
  EXPECT_EQ(talk(client_, kProxyClientSide, 8080, "c\n"), "refused");

  // Failing updates leave the rules and the foreign table as they were.
  const std::string before = nft({"list", "table", "inet", "basalt_proxy"});
  EXPECT_THAT(proxy.call_error("updateRoutes",
                               routes_param({kernel_route(8082, R"({"tableName": "foreign"})"), kEchoRoute})),
              HasSubstr("table inet foreign exists and was not made by this basalt-proxy"));
  EXPECT_THAT(proxy.call_error("updateRoutes", routes_param({kernel_route(9000), kEchoRoute})),
              HasSubstr("tcp port 9000 is also route \"echo\"'s"));
  EXPECT_EQ(nft({"list", "table", "inet", "basalt_proxy"}), before);
  EXPECT_EQ(nft({"list", "table", "inet", "foreign"}), foreign);
  EXPECT_EQ(talk(client_, kProxyClientSide, 8081, "d\n"), "peer " + std::string(kClient) + "\nd\n");
  EXPECT_EQ(talk(client_, kProxyClientSide, 8082, "e\n"), "refused");

  // Another table by name: the old one goes in the same transaction.
  ASSERT_EQ(proxy.call_error("updateRoutes", routes_param({kernel_route(8083, R"({"tableName": "edge"})")})),
            "");
  EXPECT_THAT(tables(), HasSubstr("table inet edge"));
  EXPECT_THAT(tables(), Not(HasSubstr("basalt_proxy")));
  EXPECT_THAT(talk(client_, kProxyClientSide, 8083, "f\n"), HasSubstr("f\n"));

  EXPECT_EQ(proxy.stop(), 0);
  EXPECT_THAT(tables(), Not(HasSubstr("table inet edge")));
  EXPECT_EQ(nft({"list", "table", "inet", "foreign"}), foreign);
}

TEST_F(KernelForwarding, AfterKill9TheNextStartRemovesTheTable) {
  nft({"add", "table", "inet", "foreign"});
  {
    auto& proxy = start({kernel_route(8080), kEchoRoute});
    ASSERT_TRUE(proxy.ready()) << proxy.log();
    proxy.kill9();
  }
  // Nothing removed it: the rules still forward.
  EXPECT_THAT(tables(), HasSubstr("table inet basalt_proxy"));
  EXPECT_THAT(talk(client_, kProxyClientSide, 8080, "a\n"), HasSubstr("a\n"));

  // A start without kernel routes removes what the crashed run left.
  auto& proxy = start({kEchoRoute});
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  EXPECT_THAT(tables(), Not(HasSubstr("basalt_proxy"))) << proxy.log();
  EXPECT_THAT(tables(), HasSubstr("table inet foreign"));
  EXPECT_EQ(talk(client_, kProxyClientSide, 8080, "b\n"), "refused");
  EXPECT_EQ(proxy.stop(), 0);

  // A crash, then a start with the same kernel route: replaced, not doubled.
  {
    auto& again = start({kernel_route(8080)});
    ASSERT_TRUE(again.ready()) << again.log();
    again.kill9();
  }
  auto& restarted = start({kernel_route(8080)});
  ASSERT_TRUE(restarted.ready()) << restarted.log();
  EXPECT_EQ(stats()["nftables"]
                .as_object()
                .at("kernel")
                .as_object()
                .at("ruleCount")
                .as_object()
                .at("verified")
                .to_number<std::int64_t>(),
            3);
  EXPECT_THAT(nft({"list", "table", "inet", "basalt_proxy"}),
              HasSubstr("basalt-proxy pid=" + std::to_string(restarted.process().pid())));
  EXPECT_THAT(talk(client_, kProxyClientSide, 8080, "c\n"), HasSubstr("c\n"));
  EXPECT_EQ(restarted.stop(), 0);
  EXPECT_THAT(tables(), Not(HasSubstr("basalt_proxy")));
  EXPECT_THAT(tables(), HasSubstr("table inet foreign"));
}

TEST_F(KernelForwarding, AddressListsAndPortMaps) {
  backend_server_.emplace(backend_, std::vector<std::uint16_t>{80, 81});
  ASSERT_TRUE(backend_server_->ready());
  auto route = [](const std::string& name, const std::string& ports, const std::string& nftables) {
    return R"({"name": ")" + name + R"(", "match": {"ports": )" + ports +
           R"(}, "action": {"type": "forward", "forwardingEngine": "nftables", "nftables": )" + nftables +
           "}}";
  };
  auto& proxy = start({
      // 8090 -> 81 (served), 8091 -> 82 (nothing there): mapped in order.
      route("mapped", "[8090, 8091]",
            R"({"toHost": "198.51.100.2", "toPort": [81, 82], "protocol": "all", "enableLogging": true,
                "ipAllowList": ["192.0.2.0/24", "2001:db8::/32"], "ipBlockList": ["203.0.113.0/24"]})"),
      route("blocked", "8095", R"({"toHost": "198.51.100.2", "toPort": 80, "ipBlockList": ["192.0.2.2"]})"),
      route("not-allowed", "8096",
            R"({"toHost": "198.51.100.2", "toPort": 80, "ipAllowList": ["198.51.100.0/24"]})"),
  });
  ASSERT_TRUE(proxy.ready()) << proxy.log();
  EXPECT_THAT(talk(client_, kProxyClientSide, 8090, "a\n"), HasSubstr("a\n"));
  EXPECT_EQ(talk(client_, kProxyClientSide, 8091, "b\n"), "refused");
  EXPECT_EQ(talk(client_, kProxyClientSide, 8095, "c\n"), "refused");
  EXPECT_EQ(talk(client_, kProxyClientSide, 8096, "d\n"), "refused");
  EXPECT_EQ(backend_server_->connections(), 1);
  const std::string table = nft({"list", "table", "inet", "basalt_proxy"});
  EXPECT_THAT(table, HasSubstr("set r1_block"));
  EXPECT_THAT(table, HasSubstr("elements = { 192.0.2.2 }"));
  auto s = stats();
  for (const char* id : {"mapped", "blocked", "not-allowed"})
    EXPECT_TRUE(s["nftables"].as_object().at(id).as_object().at("active").as_bool()) << id << " " << s;
  EXPECT_EQ(s["totalConnections"].to_number<std::int64_t>(), 0);
  EXPECT_EQ(proxy.stop(), 0);
}

// A successor taking over (serve --takeover) replaces the tables under its
// own pid before the old process drains, and the old one leaves them.
TEST_F(KernelForwarding, TakeoverKeepsTheRules) {
  auto& old = start({kernel_route(8080), kEchoRoute});
  ASSERT_TRUE(old.ready()) << old.log();
  NsProxy successor(proxy_, dir_, config_of({kernel_route(8080), kEchoRoute}), true);
  ASSERT_TRUE(eventually([&] { return !old.process().running(); }, 20s)) << old.log();
  EXPECT_EQ(old.process().wait(1s), 0) << old.log();
  ASSERT_TRUE(successor.process().running()) << successor.log();
  EXPECT_THAT(nft({"list", "table", "inet", "basalt_proxy"}),
              HasSubstr("basalt-proxy pid=" + std::to_string(successor.process().pid())))
      << successor.log();
  EXPECT_THAT(talk(client_, kProxyClientSide, 8080, "a\n"), HasSubstr("a\n"));
  EXPECT_EQ(successor.stop(), 0) << successor.log();
  EXPECT_THAT(tables(), Not(HasSubstr("basalt_proxy")));
}

TEST_F(KernelForwarding, ForwardingOffIsAStartError) {
  sh({"ip", "netns", "exec", proxy_, "sysctl", "-qw", "net.ipv4.ip_forward=0"});
  auto& proxy = start({kernel_route(8080), kEchoRoute});
  EXPECT_FALSE(proxy.ready());
  EXPECT_NE(proxy.process().wait(10s), 0);
  EXPECT_THAT(proxy.log(), HasSubstr("net.ipv4.ip_forward is 0 on this host: set it to 1")) << proxy.log();
  EXPECT_THAT(tables(), Not(HasSubstr("basalt_proxy")));
}

}  // namespace
}  // namespace basalt::proxy_test
