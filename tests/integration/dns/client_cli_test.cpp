// `basalt-dns query` as a user runs it: dig-like text and --json output from
// our server over UDP, TCP and DoH, exit statuses (0 for any response, 1 for
// none, 2 for bad usage), and the system strategy (no @SERVER) inside a
// network namespace whose resolv.conf and hosts file point at the test's
// own server and names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "basalt/core/tls.hpp"
#include "basalt/dns/server/server.hpp"
#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string example_zone() {
  return source_dir() + "/examples/dns/example.test.zone";
}

RunResult query(std::vector<std::string> args) {
  std::vector<std::string> argv = {binary("basalt-dns"), "query"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

class QueryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = *core::generate_self_signed(
        {.dns_names = {"localhost"}, .ip_addresses = {core::IpAddress::v4_loopback()}});
    dns::ServerConfig c;
    c.listen = {*core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})};
    c.zones = {{.file = example_zone()}};
    c.workers = 1;
    c.state_dir = dir_.path();
    c.doh = {{.listen = *core::Endpoint::parse("127.0.0.1:0", nullptr, {.allow_port_zero = true})}};
    c.tls = service::TlsConfig{.cert = cert_.certificate, .key = cert_.private_key};
    server_.emplace(c);
    server_->start();
    at_ = "@127.0.0.1:" + std::to_string(server_->udp_endpoints().at(0).port);
    doh_ = "https://127.0.0.1:" + std::to_string(server_->doh_endpoints().at(0).port) + "/dns-query";
    std::ofstream(dir_.file("ca.pem")) << cert_.certificate;
  }
  void TearDown() override { server_->stop(); }
  TempDir dir_;
  core::PemCertificate cert_;
  std::optional<dns::Server> server_;
  std::string at_, doh_;
};

TEST_F(QueryCli, TextOutputIsDigLike) {
  auto r = query({"www.example.test", "A", at_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "status: NOERROR")) << r.out;
  EXPECT_TRUE(contains(r.out, ";; flags: qr aa rd; QUERY: 1, ANSWER: 1")) << r.out;
  EXPECT_TRUE(contains(r.out, ";; ANSWER SECTION:\nwww.example.test. 3600 IN A 127.0.0.1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, ";; Query time: ")) << r.out;
  EXPECT_TRUE(contains(r.out, ";; SERVER: " + at_.substr(1) + " (udp)")) << r.out;
  auto tcp = query({"example.test", "MX", at_, "--tcp"});
  ASSERT_EQ(tcp.exit_code, 0) << tcp.err;
  EXPECT_TRUE(contains(tcp.out, "example.test. 3600 IN MX 10 mail.example.test.")) << tcp.out;
  EXPECT_TRUE(contains(tcp.out, "(tcp)")) << tcp.out;
}

TEST_F(QueryCli, JsonOutputIsOneObject) {
  auto r = query({"example.test", "MX", at_, "--json", "--dnssec"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = json::parse(r.out).as_object();
  EXPECT_EQ(v.at("server").as_string(), at_.substr(1));
  EXPECT_EQ(v.at("transport").as_string(), "udp");
  EXPECT_EQ(v.at("rcode").as_string(), "NOERROR");
  EXPECT_EQ(v.at("adFlag").as_bool(), false);
  EXPECT_TRUE(v.at("durationMs").is_number());
  auto flags = v.at("flags").as_array();
  EXPECT_NE(std::find(flags.begin(), flags.end(), json::value("aa")), flags.end());
  auto a = v.at("answers").as_array().at(0).as_object();
  EXPECT_EQ(a.at("name").as_string(), "example.test");
  EXPECT_EQ(a.at("type").as_string(), "MX");
  EXPECT_EQ(a.at("ttl").as_int64(), 3600);
  EXPECT_EQ(a.at("value").as_string(), "10 mail.example.test");
  EXPECT_EQ(v.at("additional").as_array().at(0).at("value").as_string(), "127.0.0.1");
  auto nx = json::parse(query({"nope.example.test", at_, "--json"}).out).as_object();
  EXPECT_EQ(nx.at("rcode").as_string(), "NXDOMAIN");
  EXPECT_EQ(nx.at("authority").as_array().at(0).at("type").as_string(), "SOA");
}

TEST_F(QueryCli, DohWithACaFile) {
  auto r = query({"www.example.test", "AAAA", "--doh", doh_, "--ca-file", dir_.file("ca.pem"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = json::parse(r.out).as_object();
  EXPECT_EQ(v.at("transport").as_string(), "doh, HTTP/2");
  EXPECT_EQ(v.at("answers").as_array().at(0).at("value").as_string(), "::1");
  // Without the CA the server is not trusted: no response, exit 1, reason on stderr.
  auto untrusted = query({"www.example.test", "--doh", doh_});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_TRUE(contains(untrusted.err, "TLS") || contains(untrusted.err, "certificate")) << untrusted.err;
}

TEST_F(QueryCli, ExitStatuses) {
  // Any response is 0, NXDOMAIN included; the rcode is printed.
  auto nx = query({"nope.example.test", "A", at_});
  EXPECT_EQ(nx.exit_code, 0);
  EXPECT_TRUE(contains(nx.out, "status: NXDOMAIN")) << nx.out;
  auto refused = query({"elsewhere.test", "A", at_});
  EXPECT_EQ(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.out, "status: REFUSED")) << refused.out;
  // No response: 1 with the reason.
  auto dead = query({"www.example.test", "@127.0.0.1:" + std::to_string(free_port()), "--timeout", "500"});
  EXPECT_EQ(dead.exit_code, 1);
  EXPECT_TRUE(contains(dead.err, "no response")) << dead.err;
  EXPECT_TRUE(dead.out.empty());
  // Bad usage: 2 or CLI11's own non-zero status.
  auto bad_type = query({"www.example.test", "NOTATYPE", at_});
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_TRUE(contains(bad_type.err, "NOTATYPE")) << bad_type.err;
  auto bad_server = query({"www.example.test", "@not-an-ip"});
  EXPECT_EQ(bad_server.exit_code, 2);
  EXPECT_NE(query({}).exit_code, 0);
  EXPECT_NE(query({"x.test", "--timeout", "0"}).exit_code, 0);
}

TEST_F(QueryCli, Ipv6ServerInBrackets) {
  dns::ServerConfig c;
  c.listen = {*core::Endpoint::parse("[::1]:0", nullptr, {.allow_port_zero = true})};
  c.zones = {{.file = example_zone()}};
  c.workers = 1;
  c.state_dir = dir_.path();
  dns::Server v6(c);
  try {
    v6.start();
  } catch (const std::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback: " << e.what();
  }
  auto r = query({"www.example.test", "@[::1]:" + std::to_string(v6.udp_endpoints().at(0).port), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("answers").as_array().at(0).at("value").as_string(), "127.0.0.1");
  v6.stop();
}

// The system strategy: getaddrinfo (hosts file, then DNS via resolv.conf) for
// A/AAAA and the resolv.conf nameservers for other types, all inside a
// namespace whose /etc/netns files name only the test's server and names.
TEST(QueryCliSystem, InsideANetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  BASALT_REQUIRE_TOOL("ip");
  std::string ns = "basalt-dnsq-" + std::to_string(::getpid());
  std::string etc = "/etc/netns/" + ns;
  ASSERT_EQ(run({"ip", "netns", "add", ns}).exit_code, 0);
  struct Cleanup {
    std::string ns, etc;
    ~Cleanup() {
      run({"ip", "netns", "del", ns});
      std::filesystem::remove_all(etc);
    }
  } cleanup{ns, etc};
  ASSERT_EQ(run({"ip", "-n", ns, "link", "set", "lo", "up"}).exit_code, 0);
  std::filesystem::create_directories(etc);
  std::ofstream(etc + "/resolv.conf") << "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n";
  std::ofstream(etc + "/hosts") << "127.0.0.1 localhost\n10.9.8.7 only-in-hosts.test\n";

  Process daemon(
      Process::Options{.argv = {"ip", "netns", "exec", ns, binary("basalt-dns"), "serve", "--listen",
                                "127.0.0.1:53", "--zone-file", example_zone(), "--state-dir", etc},
                       .capture_stderr = true});
  auto in_ns = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"ip", "netns", "exec", ns, binary("basalt-dns"), "query"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  };
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    up = in_ns({"example.test", "SOA", "@127.0.0.1", "--timeout", "200"}).exit_code == 0;
    if (!up) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(up) << daemon.read_all_stderr(1s);

  auto a = in_ns({"www.example.test", "--json"});  // getaddrinfo -> DNS -> our server
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto av = json::parse(a.out).as_object();
  EXPECT_EQ(av.at("server").as_string(), "system");
  EXPECT_EQ(av.at("answers").as_array().at(0).at("value").as_string(), "127.0.0.1");
  auto hosts = in_ns({"only-in-hosts.test", "A", "--json"});  // the hosts file wins
  ASSERT_EQ(hosts.exit_code, 0) << hosts.err;
  EXPECT_EQ(json::parse(hosts.out).at("answers").as_array().at(0).at("value").as_string(), "10.9.8.7");
  auto mx = in_ns({"example.test", "MX", "--json"});  // resolv.conf nameservers
  ASSERT_EQ(mx.exit_code, 0) << mx.err;
  auto mv = json::parse(mx.out).as_object();
  EXPECT_EQ(mv.at("server").as_string(), "127.0.0.1:53");
  EXPECT_EQ(mv.at("answers").as_array().at(0).at("value").as_string(), "10 mail.example.test");
  auto nx = in_ns({"nowhere.example.test", "A", "--json"});
  ASSERT_EQ(nx.exit_code, 0) << nx.err;
  EXPECT_EQ(json::parse(nx.out).at("rcode").as_string(), "NXDOMAIN");
  daemon.signal(SIGTERM);
  daemon.wait(10s);
}

}  // namespace
}  // namespace basalt::testing
