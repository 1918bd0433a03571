// dns::Client against real servers on loopback: our dns::Server (UDP, TCP,
// DoH over HTTP/2 and HTTP/1.1) and Knot DNS (UDP, TCP), truncated answers
// completed over TCP, the system strategy's resolv.conf option inside a
// network namespace of the test, and propagation checks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "basalt/core/tls.hpp"
#include "basalt/dns/client/client.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/rdata_types.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;
using dns::RRType;

std::string example_zone() {
  return source_dir() + "/examples/dns/example.test.zone";
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A zone with an RRset too large for 1232 octets over UDP.
std::string big_zone(const TempDir& dir) {
  std::string z =
      "$ORIGIN big.test.\n$TTL 300\n@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n@ IN NS ns\nns IN A "
      "127.0.0.1\n";
  for (int i = 0; i < 120; ++i)
    z += "many IN A 10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + "\n";
  for (int i = 0; i < 60; ++i)
    z += "many IN TXT \"a text record long enough to fill the datagram, number " + std::to_string(i) + "\"\n";
  write(dir.file("big.test.zone"), z);
  return dir.file("big.test.zone");
}

dns::ServerConfig server_config(const TempDir& dir) {
  dns::ServerConfig c;
  c.listen = {*core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})};
  c.zones = {{.file = example_zone()}, {.file = big_zone(dir)}};
  c.workers = 1;
  c.state_dir = dir.path();
  return c;
}

dns::ClientOptions udp_to(std::uint16_t port) {
  dns::ClientOptions o;
  o.strategy = dns::Strategy::kUdp;
  o.udp_upstreams = {core::Endpoint{core::IpAddress::v4_loopback(), port}};
  o.doh_urls = {};
  o.timeout = 3s;
  return o;
}

std::vector<std::string> values(const dns::QueryResult& r) {
  std::vector<std::string> v;
  for (const auto& a : r.answers) v.push_back(a.value);
  std::sort(v.begin(), v.end());
  return v;
}

TEST(DnsClient, OurServerOverUdpAndTcpEveryType) {
  TempDir dir;
  dns::Server server(server_config(dir));
  server.start();
  auto port = server.udp_endpoints().at(0).port;
  for (bool tcp : {false, true}) {
    auto o = udp_to(port);
    o.tcp_only = tcp;
    dns::BlockingClient client(o);
    EXPECT_EQ(values(client.query("www.example.test", RRType::kA)), std::vector<std::string>{"127.0.0.1"});
    EXPECT_EQ(values(client.query("www.example.test", RRType::kAAAA)), std::vector<std::string>{"::1"});
    EXPECT_EQ(values(client.query("example.test", RRType::kMX)),
              std::vector<std::string>{"10 mail.example.test"});
    EXPECT_EQ(values(client.query("example.test", RRType::kTXT)), std::vector<std::string>{"v=spf1 mx -all"});
    EXPECT_EQ(values(client.query("example.test", RRType::kNS)),
              std::vector<std::string>{"ns1.example.test"});
    EXPECT_EQ(values(client.query("api.example.test", RRType::kCNAME)),
              std::vector<std::string>{"www.example.test"});
    EXPECT_EQ(values(client.query("_sip._tcp.example.test", RRType::kSRV)),
              std::vector<std::string>{"10 60 5060 www.example.test"});
    EXPECT_EQ(values(client.query("example.test", RRType::kSOA)),
              std::vector<std::string>{
                  "ns1.example.test hostmaster.example.test 2026112901 7200 3600 1209600 300"});
    EXPECT_EQ(client.name_servers("example.test"), std::vector<std::string>{"ns1.example.test"});
    auto ex = client.exchange("www.example.test", RRType::kA, dns::UpstreamTransport::kUdp);
    ASSERT_TRUE(ex) << ex.error;
    EXPECT_EQ(ex.transport, tcp ? dns::UpstreamTransport::kTcp : dns::UpstreamTransport::kUdp);
    EXPECT_TRUE(ex.response.header.aa);
    // NXDOMAIN is a response, with the SOA in AUTHORITY.
    auto nx = client.exchange("nope.example.test", RRType::kA, dns::UpstreamTransport::kUdp);
    ASSERT_TRUE(nx);
    EXPECT_EQ(nx.response.rcode(), static_cast<std::uint16_t>(dns::Rcode::kNXDomain));
    EXPECT_EQ(nx.response.authority.size(), 1u);
    auto r = client.query("nope.example.test", RRType::kA);
    EXPECT_TRUE(r);
    EXPECT_EQ(r.rcode, 3);
    EXPECT_TRUE(r.answers.empty());
  }
  server.stop();
}

TEST(DnsClient, TruncatedUdpAnswerComesBackWholeOverTcp) {
  TempDir dir;
  dns::Server server(server_config(dir));
  server.start();
  dns::BlockingClient client(udp_to(server.udp_endpoints().at(0).port));
  auto ex = client.exchange("many.big.test", RRType::kA, dns::UpstreamTransport::kUdp);
  ASSERT_TRUE(ex) << ex.error;
  EXPECT_EQ(ex.transport, dns::UpstreamTransport::kTcp);
  EXPECT_FALSE(ex.response.header.tc);
  EXPECT_EQ(ex.response.answers.size(), 120u);
  // dig over UDP alone sees the truncation the client had to get past.
  auto d = dig(server.udp_endpoints().at(0).port, {"many.big.test", "A", "+ignore", "+bufsize=1232"});
  EXPECT_TRUE(contains(d.out, " tc")) << d.out;
  server.stop();
}

TEST(DnsClient, PropagationCheckSeesARecordAppear) {
  TempDir dir;
  auto c = server_config(dir);
  c.zones.push_back({.apex = "dyn.test"});
  dns::Server server(c);
  server.start();
  auto o = udp_to(server.udp_endpoints().at(0).port);
  o.resolv_conf = dir.file("none.conf");  // the system half of each cycle finds nothing here
  write(o.resolv_conf, "# no nameserver\n");
  dns::BlockingClient client(o);
  EXPECT_FALSE(client.check_until_available("_acme-challenge.dyn.test", RRType::kTXT, "token-1", 4, 10ms));
  server.handle("_acme-challenge.dyn.test", {RRType::kTXT}, [](const dns::Query& q) {
    return std::vector<dns::Record>{
        {q.question.name, RRType::kTXT, dns::RRClass::kIN, 60, dns::rdata::TXT{{"token-1"}}.encode()}};
  });
  EXPECT_TRUE(client.check_until_available("_acme-challenge.dyn.test", RRType::kTXT, "token-1", 4, 10ms));
  server.stop();
}

// --- DoH against our server's RFC 8484 listener -------------------------------

struct DohServer {
  TempDir dir;
  core::PemCertificate cert;
  std::optional<dns::Server> server;
  std::string url;
  DohServer() {
    cert = *core::generate_self_signed(
        {.dns_names = {"localhost"}, .ip_addresses = {core::IpAddress::v4_loopback()}});
    auto c = server_config(dir);
    c.doh = {{.listen = *core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})}};
    c.tls = service::TlsConfig{.cert = cert.certificate, .key = cert.private_key};
    server.emplace(c);
    server->start();
    url = "https://127.0.0.1:" + std::to_string(server->doh_endpoints().at(0).port) + "/dns-query";
  }
  ~DohServer() { server->stop(); }
};

dns::ClientOptions doh_to(const std::string& url, const std::string& ca) {
  dns::ClientOptions o;
  o.strategy = dns::Strategy::kDoh;
  o.udp_upstreams = {};
  o.doh_urls = {url};
  o.ca_file = ca;
  o.timeout = 5s;
  o.attempt_timeout = 3s;
  return o;
}

TEST(DnsClient, DohPostOverHttp2ReusesOneConnection) {
  DohServer doh;
  dns::BlockingClient client(doh_to(doh.url, doh.cert.certificate));
  for (int i = 0; i < 5; ++i) {
    auto r = client.query("www.example.test", RRType::kA);
    ASSERT_TRUE(r) << r.error;
    EXPECT_EQ(values(r), std::vector<std::string>{"127.0.0.1"});
    EXPECT_EQ(r.transport, dns::UpstreamTransport::kDoh);
  }
  auto ex = client.exchange("example.test", RRType::kMX, dns::UpstreamTransport::kDoh);
  ASSERT_TRUE(ex) << ex.error;
  EXPECT_EQ(ex.http_version, "HTTP/2");
  EXPECT_EQ(client.async().doh_connections_opened(), 1u);
  // Truncation does not exist over DoH: the whole RRset in one response.
  auto big = client.query("many.big.test", RRType::kA);
  EXPECT_EQ(big.answers.size(), 120u);
}

TEST(DnsClient, DohGetAndPreferUdpFallsBackToDoh) {
  DohServer doh;
  auto o = doh_to(doh.url, doh.cert.certificate);
  o.doh_get = true;
  dns::BlockingClient get(o);
  auto r = get.query("example.test", RRType::kTXT);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(values(r), std::vector<std::string>{"v=spf1 mx -all"});

  // prefer-udp: the UDP upstream is dead, DoH answers.
  auto p = doh_to(doh.url, doh.cert.certificate);
  p.strategy = dns::Strategy::kPreferUdp;
  p.udp_upstreams = {core::Endpoint{core::IpAddress::v4_loopback(), free_port()}};
  p.attempt_timeout = 300ms;
  dns::BlockingClient prefer(p);
  auto f = prefer.query("www.example.test", RRType::kA);
  ASSERT_TRUE(f) << f.error;
  EXPECT_EQ(f.transport, dns::UpstreamTransport::kDoh);
  EXPECT_EQ(values(f), std::vector<std::string>{"127.0.0.1"});
}

TEST(DnsClient, DohRejectsAServerTheCaDoesNotVouchFor) {
  DohServer doh;
  auto other = core::generate_self_signed(
      {.dns_names = {"localhost"}, .ip_addresses = {core::IpAddress::v4_loopback()}});
  dns::BlockingClient client(doh_to(doh.url, other->certificate));
  auto r = client.query("www.example.test", RRType::kA);
  EXPECT_EQ(r.status, dns::QueryStatus::kTlsError) << r.error;
  EXPECT_TRUE(r.answers.empty());
  // Wrong path: an HTTP error, not an answer.
  dns::BlockingClient wrong(doh_to(doh.url + "-nope", doh.cert.certificate));
  auto w = wrong.query("www.example.test", RRType::kA);
  EXPECT_EQ(w.status, dns::QueryStatus::kHttpError) << w.error;
}

// --- Knot DNS as the upstream ---------------------------------------------------

class Knot {
 public:
  explicit Knot(const TempDir& dir) : port_(free_port()) {
    std::string user = ::geteuid() == 0 ? "root:root" : std::to_string(::geteuid());
    std::string conf = "server:\n  listen: 127.0.0.1@" + std::to_string(port_) + "\n  rundir: " + dir.path() +
                       "\n  user: " + user + "\n  udp-max-payload: 1232\n" +
                       "log:\n  - target: " + dir.file("knot.log") + "\n    any: info\n" +
                       "database:\n  storage: " + dir.path() + "\n" +
                       "template:\n  - id: default\n    storage: " + dir.path() +
                       "\n    zonefile-sync: -1\n    journal-content: none\n" +
                       "zone:\n  - domain: example.test\n    file: " + example_zone() +
                       "\n  - domain: big.test\n    file: " + big_zone(dir) + "\n";
    write(dir.file("knot.conf"), conf);
    process_.emplace(Process::Options{.argv = {"knotd", "-c", dir.file("knot.conf")}});
    // Ready when it answers over UDP.
    for (int i = 0; i < 100; ++i) {
      if (contains(kdig(port_, {"example.test", "SOA"}).out, "NOERROR")) return;
      std::this_thread::sleep_for(50ms);
    }
  }
  ~Knot() {
    process_->signal(SIGTERM);
    process_->wait(10s);
  }
  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  std::optional<Process> process_;
};

TEST(DnsClient, KnotOverUdpAndTcpWithTruncation) {
  BASALT_REQUIRE_TOOL("knotd");
  BASALT_REQUIRE_TOOL("kdig");
  TempDir dir;
  Knot knot(dir);
  dns::BlockingClient client(udp_to(knot.port()));
  EXPECT_EQ(values(client.query("www.example.test", RRType::kA)), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(values(client.query("example.test", RRType::kMX)),
            std::vector<std::string>{"10 mail.example.test"});
  auto ex = client.exchange("many.big.test", RRType::kA, dns::UpstreamTransport::kUdp);
  ASSERT_TRUE(ex) << ex.error;
  EXPECT_EQ(ex.transport, dns::UpstreamTransport::kTcp);
  EXPECT_EQ(ex.response.answers.size(), 120u);
  auto o = udp_to(knot.port());
  o.tcp_only = true;
  dns::BlockingClient tcp(o);
  auto t = tcp.exchange("example.test", RRType::kSOA, dns::UpstreamTransport::kTcp);
  ASSERT_TRUE(t) << t.error;
  EXPECT_EQ(t.transport, dns::UpstreamTransport::kTcp);
  EXPECT_EQ(dns::answers_of(t.response, RRType::kSOA).at(0).value,
            "ns1.example.test hostmaster.example.test 2026112901 7200 3600 1209600 300");
}

// --- The system strategy's resolv.conf option, inside a network namespace -------

// A network namespace of this test with only `lo` up; removed at scope exit.
class NetNs {
 public:
  NetNs() : name_("basalt-dnsc-" + std::to_string(::getpid())) {
    ok_ = run({"ip", "netns", "add", name_}).exit_code == 0 &&
          run({"ip", "-n", name_, "link", "set", "lo", "up"}).exit_code == 0;
  }
  ~NetNs() { run({"ip", "netns", "del", name_}); }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }
  // Runs `fn` on a thread that lives in the namespace (sockets it and its
  // threads open belong to it).
  template <typename Fn>
  void run_inside(Fn fn) {
    std::thread t([&] {
      int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::setns(fd, CLONE_NEWNET), 0);
      ::close(fd);
      fn();
    });
    t.join();
  }

 private:
  std::string name_;
  bool ok_ = false;
};

TEST(DnsClient, SystemStrategyUsesTheNameserversOfTheGivenResolvConf) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  BASALT_REQUIRE_TOOL("ip");
  NetNs ns;
  ASSERT_TRUE(ns.ok());
  ns.run_inside([&] {
    TempDir dir;
    auto c = server_config(dir);
    c.listen = {*core::Endpoint::parse("127.0.0.1:53")};
    dns::Server server(c);
    server.start();
    write(dir.file("resolv.conf"), "# ours\nnameserver 127.0.0.1\n");
    dns::ClientOptions o;
    o.strategy = dns::Strategy::kSystem;
    o.resolv_conf = dir.file("resolv.conf");
    o.udp_upstreams = {};
    o.doh_urls = {};
    dns::BlockingClient client(o);
    auto r = client.query("example.test", RRType::kMX);
    ASSERT_TRUE(r) << r.error;
    EXPECT_EQ(values(r), std::vector<std::string>{"10 mail.example.test"});
    EXPECT_EQ(r.transport, dns::UpstreamTransport::kUdp);
    // A truncated answer is completed over TCP here too.
    // (TXT: A and AAAA would go to getaddrinfo, which reads /etc/resolv.conf.)
    EXPECT_EQ(client.query("many.big.test", RRType::kTXT).answers.size(), 60u);
    // A resolv.conf without nameservers is a failure, not an empty success.
    write(dir.file("empty.conf"), "search example.test\n");
    o.resolv_conf = dir.file("empty.conf");
    dns::BlockingClient none(o);
    auto e = none.query("example.test", RRType::kMX);
    EXPECT_FALSE(e);
    EXPECT_NE(e.error.find("names no nameserver"), std::string::npos) << e.error;
    server.stop();
  });
}

}  // namespace
}  // namespace basalt::testing
