// basalt-dns serve, driven by real dig and kdig over UDP and TCP on loopback:
// the answers an authoritative server must give, the errors for what it cannot
// answer, config errors at start-up, and a clean stop on SIGTERM.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 3600
@        IN SOA  ns1 hostmaster 2026112901 7200 3600 1209600 300
@        IN NS   ns1
@        IN MX   10 mail
ns1      IN A    127.0.0.1
mail     IN A    192.0.2.25
www      IN A    192.0.2.80
www      IN AAAA 2001:db8::80
api      IN CNAME www
*.apps   IN A    192.0.2.99
sub      IN NS   ns.sub
ns.sub   IN A    192.0.2.53
)";

std::string big_txt_records() {
  std::string out;
  for (int i = 0; i < 12; ++i) {
    out += "big IN TXT \"" + std::string(200, static_cast<char>('a' + i)) + "\"\n";
  }
  return out;
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BASALT_REQUIRE_TOOL("dig");
    BASALT_REQUIRE_TOOL("kdig");
    std::ofstream(dir_.file("example.test.zone")) << kZone << big_txt_records();
    port_ = free_port();
    server_.emplace(Process::Options{.argv = {binary("basalt-dns"), "serve", "--listen",
                                              "127.0.0.1:" + std::to_string(port_), "--zone-file",
                                              dir_.file("example.test.zone"), "--management-socket",
                                              dir_.file("mgmt.sock"), "--log-level", "warn"}});
    ASSERT_TRUE(wait_for_answer(port_, "ns1.example.test", "A", "127.0.0.1", *server_))
        << "basalt-dns did not start";
  }

  void TearDown() override {
    if (server_ && server_->running()) {
      server_->signal(SIGTERM);
      EXPECT_EQ(server_->wait(10s), 0);
    }
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<Process> server_;
};

TEST_F(DaemonTest, AnswersAuthoritativelyOverUdpAndTcpEchoingTheQuestionCase) {
  for (std::string transport : {"+notcp", "+tcp"}) {
    auto r = dig(port_, {"WwW.ExAmPlE.TeSt", "A", transport, "+norec"});
    EXPECT_TRUE(contains(r.out, "status: NOERROR")) << r.out;
    EXPECT_TRUE(contains(r.out, "flags: qr aa;")) << r.out;  // AA set, RA clear
    EXPECT_EQ(record_lines(r.out), (std::vector<std::string>{"WwW.ExAmPlE.TeSt. 3600 IN A 192.0.2.80"}))
        << r.out;
  }
  auto k = kdig(port_, {"www.example.test", "AAAA", "+short"});
  EXPECT_EQ(k.out, "2001:db8::80\n");
}

TEST_F(DaemonTest, NegativeAnswersCarryTheSoaInAuthorityNeverInAnswer) {
  auto nx = dig(port_, {"nothing.example.test", "A", "+noall", "+comments", "+authority", "+answer"});
  EXPECT_TRUE(contains(nx.out, "status: NXDOMAIN")) << nx.out;
  EXPECT_TRUE(contains(nx.out, "ANSWER: 0, AUTHORITY: 1")) << nx.out;
  EXPECT_EQ(record_lines(nx.out),
            (std::vector<std::string>{"example.test. 300 IN SOA ns1.example.test. hostmaster.example.test. "
                                      "2026112901 7200 3600 1209600 300"}));
  auto nodata = dig(port_, {"www.example.test", "MX", "+noall", "+comments", "+authority"});
  EXPECT_TRUE(contains(nodata.out, "status: NOERROR")) << nodata.out;
  EXPECT_TRUE(contains(nodata.out, "ANSWER: 0, AUTHORITY: 1")) << nodata.out;
}

TEST_F(DaemonTest, CnameWildcardAndReferral) {
  auto cname = dig(port_, {"api.example.test", "A", "+noall", "+answer"});
  EXPECT_EQ(record_lines(cname.out),
            (std::vector<std::string>{"api.example.test. 3600 IN CNAME www.example.test.",
                                      "www.example.test. 3600 IN A 192.0.2.80"}));
  auto wild = dig(port_, {"Foo.Apps.example.test", "A", "+short"});
  EXPECT_EQ(wild.out, "192.0.2.99\n");
  auto referral = dig(port_, {"host.sub.example.test", "A", "+norec"});
  EXPECT_TRUE(contains(referral.out, "flags: qr;")) << referral.out;  // AA clear
  EXPECT_TRUE(contains(referral.out, "ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 2")) << referral.out;
  EXPECT_TRUE(contains(referral.out, "ns.sub.example.test. 3600 IN A 192.0.2.53") ||
              contains(referral.out, "ns.sub.example.test.\t3600\tIN\tA\t192.0.2.53"))
      << referral.out;
}

TEST_F(DaemonTest, TruncatesOverUdpAndTheFullAnswerComesOverTcp) {
  auto udp = dig(port_, {"big.example.test", "TXT", "+ignore", "+bufsize=1232"});
  EXPECT_TRUE(contains(udp.out, " tc")) << udp.out;
  auto retried = dig(port_, {"big.example.test", "TXT", "+bufsize=1232"});
  EXPECT_TRUE(contains(retried.out, "Truncated, retrying in TCP mode")) << retried.out;
  EXPECT_TRUE(contains(retried.out, "ANSWER: 12,")) << retried.out;
  auto no_edns = dig(port_, {"big.example.test", "TXT", "+ignore", "+noedns"});
  EXPECT_TRUE(contains(no_edns.out, " tc")) << no_edns.out;
  EXPECT_TRUE(contains(no_edns.out, "MSG SIZE  rcvd: ")) << no_edns.out;
}

TEST_F(DaemonTest, AnyIsAnsweredMinimallyOverUdp) {
  auto any = dig(port_, {"www.example.test", "ANY", "+notcp", "+noall", "+answer"});
  EXPECT_EQ(record_lines(any.out),
            (std::vector<std::string>{"www.example.test. 3600 IN HINFO \"RFC8482\" \"\""}));
  auto tcp = dig(port_, {"www.example.test", "ANY", "+tcp", "+noall", "+answer"});
  EXPECT_EQ(record_lines(tcp.out).size(), 2u) << tcp.out;
}

// An opcode we do not implement gets NOTIMP echoing RD, but not CD: CD is
// defined for QUERY only (as Knot DNS answers).
TEST_F(DaemonTest, UnknownOpcodesGetNotimpEchoingOnlyRd) {
  auto r = dig(port_, {"www.example.test", "A", "+opcode=3", "+rec", "+cd"});
  EXPECT_TRUE(contains(r.out, "status: NOTIMP")) << r.out;
  EXPECT_TRUE(contains(r.out, "flags: qr rd;")) << r.out;
}

TEST_F(DaemonTest, ASecondServerOnTheSameAddressFailsToStart) {
  auto r = run({binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(port_),
                "--zone-file", dir_.file("example.test.zone"), "--state-dir", dir_.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "127.0.0.1:" + std::to_string(port_) + "/udp is already in use")) << r.err;
  EXPECT_EQ(dig(port_, {"www.example.test", "A", "+short"}).out, "192.0.2.80\n");
}

TEST_F(DaemonTest, RefusedBadversAndFormerr) {
  auto refused = dig(port_, {"www.example.com", "A"});
  EXPECT_TRUE(contains(refused.out, "status: REFUSED")) << refused.out;
  auto badvers = dig(port_, {"www.example.test", "A", "+edns=1", "+noednsneg"});
  EXPECT_TRUE(contains(badvers.out, "status: BADVERS")) << badvers.out;

  // A truncated question: FORMERR with our ID, and the server keeps serving.
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port_);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const unsigned char bad[] = {0xbe, 0xef, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x03, 'w', 'w'};
  ::sendto(fd, bad, sizeof bad, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  unsigned char reply[512];
  auto n = ::recv(fd, reply, sizeof reply, 0);
  ::close(fd);
  ASSERT_GE(n, 12);
  EXPECT_EQ(reply[0], 0xbe);
  EXPECT_EQ(reply[1], 0xef);
  EXPECT_EQ(reply[3] & 0x0f, 1);  // FORMERR
  EXPECT_EQ(dig(port_, {"www.example.test", "A", "+short"}).out, "192.0.2.80\n");
}

TEST_F(DaemonTest, ZoneTransferIsRefusedOutsideTheAllowList) {
  auto axfr = dig(port_, {"example.test", "AXFR"});
  EXPECT_TRUE(contains(axfr.out, "Transfer failed") || contains(axfr.out, "REFUSED")) << axfr.out;
}

TEST_F(DaemonTest, ManagementSocketReportsCounters) {
  dig(port_, {"www.example.test", "A"});
  dig(port_, {"nothing.example.test", "A", "+tcp"});
  auto r = run(
      {"python3", "-c",
       "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);f=s.makefile();f.readline();"
       "s.sendall(b'{\"id\":1,\"method\":\"getMetrics\"}\\n');print(f.readline())",
       dir_.file("mgmt.sock")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "\"success\":true")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"NXDOMAIN\":")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"tcp\":")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"managementEventsDropped\":0")) << r.out;
}

TEST_F(DaemonTest, QueryEventsOverTheManagementSocketWhenEnabled) {
  // A client enables query events, then a query is made; the event names it.
  Process client(
      {.argv = {"python3", "-c",
                "import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
                "f=s.makefile();print(f.readline(),end='',flush=True);"
                "s.sendall(b'{\"id\":1,\"method\":\"setQueryEvents\",\"params\":{\"enabled\":true}}\\n');"
                "[print(f.readline(),end='',flush=True) for _ in range(2)]",
                dir_.file("mgmt.sock")}});
  ASSERT_TRUE(contains(client.read_line().value_or(""), "ready"));
  ASSERT_TRUE(contains(client.read_line().value_or(""), "\"enabled\":true"));
  dig(port_, {"Mail.example.test", "A"});
  auto event = client.read_line().value_or("");
  EXPECT_TRUE(contains(event, "\"event\":\"query\"")) << event;
  EXPECT_TRUE(contains(event, "\"name\":\"Mail.example.test.\"")) << event;
  EXPECT_TRUE(contains(event, "\"rcode\":\"NOERROR\"")) << event;
  EXPECT_EQ(client.wait(5s), 0);
}

TEST(DaemonConfig, BadConfigIsRejectedWithKeyPathValueAndWhatIsAllowed) {
  TempDir dir;
  std::ofstream(dir.file("bad.yaml")) << "listen:\n  - 127.0.0.1:5353\n  - 127.0.0.1:70000\n";
  auto r = run({binary("basalt-dns"), "serve", "--config", dir.file("bad.yaml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, R"(listen[1]: "127.0.0.1:70000" has no valid port (1-65535))")) << r.err;

  std::ofstream(dir.file("unknown.yaml")) << "listen: [127.0.0.1:5353]\nzones:\n  - fil: x.zone\n";
  r = run({binary("basalt-dns"), "serve", "--config", dir.file("unknown.yaml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "zones[0].fil: unknown key (allowed: file, apex)")) << r.err;

  std::ofstream(dir.file("broken.zone"))
      << "$ORIGIN x.test.\n@ IN SOA ns1 host 1 2 3 4 5\nwww IN A 300.1.1.1\n";
  r = run({binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(free_port()),
           "--zone-file", dir.file("broken.zone")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, dir.file("broken.zone") + ":3:")) << r.err;

  std::ofstream(dir.file("noorigin.zone")) << "www 3600 IN A 192.0.2.1\n";
  r = run({binary("basalt-dns"), "serve", "--listen", "127.0.0.1:" + std::to_string(free_port()),
           "--zone-file", dir.file("noorigin.zone")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "cannot tell which zone")) << r.err;

  r = run({binary("basalt-dns"), "serve", "--listen", "[::1]:99999"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, R"(--listen: "[::1]:99999" has no valid port (1-65535))")) << r.err;
}

}  // namespace
}  // namespace basalt::testing

namespace basalt::testing {
namespace {

TEST(DaemonMetrics, PrometheusTextAtSlashMetrics) {
  BASALT_REQUIRE_TOOL("curl");
  BASALT_REQUIRE_TOOL("dig");
  TempDir dir;
  auto port = free_port();
  auto metrics_port = free_port();
  std::ofstream(dir.file("z.zone")) << kZone;
  std::ofstream(dir.file("c.yaml")) << "listen: [127.0.0.1:" << port
                                    << "]\nzones: [{file: " << dir.file("z.zone")
                                    << "}]\nmetrics: {listen: 127.0.0.1:" << metrics_port
                                    << "}\nlog: {level: warn}\n";
  Process server({.argv = {binary("basalt-dns"), "serve", "--config", dir.file("c.yaml")}});
  ASSERT_TRUE(wait_for_answer(port, "www.example.test", "A", "192.0.2.80", server))
      << "basalt-dns did not start";
  dig(port, {"nothing.example.test", "A"});
  auto r = run({"curl", "-sS", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "# TYPE basalt_dns_queries_total counter")) << r.out;
  EXPECT_TRUE(contains(r.out, "basalt_dns_responses_total{rcode=\"NXDOMAIN\"} 1")) << r.out;
  EXPECT_TRUE(contains(r.out, "basalt_dns_queries_by_type_total{type=\"A\"}")) << r.out;
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s), 0);
}

}  // namespace
}  // namespace basalt::testing

namespace basalt::testing {
namespace {

// The config `make run` starts must load and answer (on free ports: flags win,
// and the metrics port, which has no flag, is rewritten in a copy).
TEST(DaemonExample, TheShippedExampleConfigServesItsZone) {
  BASALT_REQUIRE_TOOL("dig");
  auto port = free_port();
  TempDir state;  // the generated DoH certificate goes here, not to the system state directory
  std::string config;
  {
    std::ifstream in(source_dir() + "/examples/dns/basalt-dns.yaml");
    config.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string shipped_metrics = "listen: 127.0.0.1:9153";
  auto at = config.find(shipped_metrics);
  ASSERT_NE(at, std::string::npos) << config;
  auto metrics_port = free_port();
  config.replace(at, shipped_metrics.size(), "listen: 127.0.0.1:" + std::to_string(metrics_port));
  std::ofstream(state.file("basalt-dns.yaml")) << config;
  Process server({.argv = {binary("basalt-dns"), "serve", "--config", state.file("basalt-dns.yaml"),
                           "--listen", "127.0.0.1:" + std::to_string(port), "--doh",
                           "127.0.0.1:" + std::to_string(free_port()), "--state-dir", state.path()}});
  EXPECT_TRUE(wait_for_answer(port, "www.example.test", "A", "127.0.0.1", server));
  auto dyn = dig(port, {"dyn.example.test", "SOA", "+short"});
  EXPECT_TRUE(contains(dyn.out, "ns1.dyn.example.test.")) << dyn.out;  // synthesised SOA
  // example.test is signed, with a key made in the state directory.
  auto signed_answer = dig(port, {"www.example.test", "A", "+dnssec"});
  EXPECT_TRUE(contains(signed_answer.out, "RRSIG\tA 13 3 ")) << signed_answer.out;
  EXPECT_TRUE(std::filesystem::exists(state.path() + "/keys"));
  auto metrics = run({"curl", "-sS", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"});
  EXPECT_TRUE(contains(metrics.out, "# TYPE basalt_dns_queries_total counter")) << metrics.err;
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(10s), 0);
}

}  // namespace
}  // namespace basalt::testing
