// DNS Cookies (RFC 7873, RFC 9018) in basalt-dns, driven by real dig: the
// server cookie an answer carries is accepted when sent back, a tampered
// one is answered with a fresh cookie (or BADCOOKIE when cookies are
// required, never over TCP), and servers sharing a secret accept each
// other's cookies (anycast).
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <optional>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kZone = R"($ORIGIN example.test.
$TTL 3600
@        IN SOA  ns1 hostmaster 1 7200 3600 1209600 300
@        IN NS   ns1
ns1      IN A    127.0.0.1
www      IN A    192.0.2.80
)";

constexpr std::string_view kSecret = "e5e973e5a6b2a43f48e7dc849e37bfcf";

// One basalt-dns with the config's extra `yaml` and a management socket.
struct Daemon {
  Daemon(TempDir& dir, const std::string& name, const std::string& yaml) : dir_(dir), name_(name) {
    std::ofstream(dir.file("example.test.zone")) << kZone;
    port = free_port();
    std::ofstream(dir.file(name + ".yaml")) << "listen: [127.0.0.1:" << port << "]\n"
                                            << "zones: [{file: " << dir.file("example.test.zone") << "}]\n"
                                            << "workers: 1\n"
                                            << yaml;
    process.emplace(Process::Options{
        .argv = {binary("basalt-dns"), "serve", "--config", dir.file(name + ".yaml"), "--state-dir",
                 dir.path(), "--management-socket", dir.file(name + ".sock"), "--log-level", "warn"},
        .capture_stderr = true});
    started = wait_for_answer(port, "ns1.example.test", "A", "127.0.0.1", *process);
  }
  ~Daemon() {
    if (process && process->running()) {
      process->signal(SIGTERM);
      EXPECT_EQ(process->wait(10s), 0);
    }
  }

  // The count of queries with cookies of `kind` (clientOnly, valid, invalid).
  long cookie_queries(const std::string& kind) { return metric("queriesByCookie", kind); }
  // The count of responses with `rcode`.
  long responses(const std::string& rcode) { return metric("responsesByRcode", rcode); }
  // getMetrics' result[group][key], 0 when absent.
  long metric(const std::string& group, const std::string& key) {
    auto r =
        run({"python3", "-c",
             "import socket,sys,json;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);f=s.makefile();"
             "f.readline();s.sendall(b'{\"id\":1,\"method\":\"getMetrics\"}\\n');"
             "print(json.loads(f.readline())['result'][sys.argv[2]].get(sys.argv[3], 0))",
             dir_.file(name_ + ".sock"), group, key});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? std::stol(r.out) : -1;
  }

  TempDir& dir_;
  std::string name_;
  std::uint16_t port = 0;
  std::optional<Process> process;
  bool started = false;
};

// The COOKIE dig printed ("" if none), and whether it called it good.
struct DigCookie {
  std::string hex;
  bool good = false;
};
DigCookie cookie_in(const std::string& out) {
  const std::string tag = "; COOKIE: ";
  auto at = out.find(tag);
  if (at == std::string::npos) return {};
  auto start = at + tag.size();
  auto end = out.find_first_of(" \n", start);
  DigCookie c{out.substr(start, end - start), false};
  auto line_end = out.find('\n', start);
  c.good = out.substr(start, line_end - start).find("(good)") != std::string::npos;
  return c;
}

// `cookie` with the last octet of its server cookie changed.
std::string tampered(std::string cookie) {
  cookie.back() = cookie.back() == '0' ? '1' : '0';
  return cookie;
}

class CookiesTest : public ::testing::Test {
 protected:
  void SetUp() override { BASALT_REQUIRE_TOOL("dig"); }
  TempDir dir_;
};

TEST_F(CookiesTest, AServerCookieIsGivenAndAcceptedWhenSentBack) {
  Daemon d(dir_, "a", "");
  ASSERT_TRUE(d.started) << d.process->read_all_stderr(1s);
  auto first = dig(d.port, {"www.example.test", "A", "+cookie"});
  EXPECT_TRUE(contains(first.out, "status: NOERROR")) << first.out;
  auto c = cookie_in(first.out);
  // 8 octets of client cookie, 16 of RFC 9018 server cookie (version 1).
  ASSERT_EQ(c.hex.size(), 48u) << first.out;
  EXPECT_EQ(c.hex.substr(16, 8), "01000000") << first.out;
  EXPECT_TRUE(c.good) << first.out;

  long valid_before = d.cookie_queries("valid");
  auto again = dig(d.port, {"www.example.test", "A", "+cookie=" + c.hex, "+nobadcookie"});
  EXPECT_TRUE(contains(again.out, "status: NOERROR")) << again.out;
  EXPECT_EQ(record_lines(again.out), (std::vector<std::string>{"www.example.test. 3600 IN A 192.0.2.80"}))
      << again.out;
  EXPECT_EQ(cookie_in(again.out).hex, c.hex) << again.out;  // still fresh: echoed as is
  EXPECT_EQ(d.cookie_queries("valid"), valid_before + 1);

  // Tampered, without `require`: the normal answer, with a fresh cookie.
  long invalid_before = d.cookie_queries("invalid");
  auto bad = dig(d.port, {"www.example.test", "A", "+cookie=" + tampered(c.hex), "+nobadcookie"});
  EXPECT_TRUE(contains(bad.out, "status: NOERROR")) << bad.out;
  EXPECT_EQ(record_lines(bad.out).size(), 1u) << bad.out;
  auto fresh = cookie_in(bad.out);
  EXPECT_EQ(fresh.hex.size(), 48u) << bad.out;
  EXPECT_NE(fresh.hex, tampered(c.hex)) << bad.out;
  EXPECT_EQ(d.cookie_queries("invalid"), invalid_before + 1);
}

TEST_F(CookiesTest, RequiredCookiesCostABadcookieOverUdpOnly) {
  Daemon d(dir_, "strict", "cookies: {require: true}\n");
  ASSERT_TRUE(d.started) << d.process->read_all_stderr(1s);
  auto first = dig(d.port, {"www.example.test", "A", "+cookie", "+nobadcookie"});
  EXPECT_TRUE(contains(first.out, "status: BADCOOKIE")) << first.out;
  EXPECT_TRUE(contains(first.out, "ANSWER: 0,")) << first.out;
  auto c = cookie_in(first.out);
  ASSERT_EQ(c.hex.size(), 48u) << first.out;

  auto retried = dig(d.port, {"www.example.test", "A", "+cookie=" + c.hex, "+nobadcookie"});
  EXPECT_TRUE(contains(retried.out, "status: NOERROR")) << retried.out;
  EXPECT_EQ(record_lines(retried.out).size(), 1u) << retried.out;

  auto bad = dig(d.port, {"www.example.test", "A", "+cookie=" + tampered(c.hex), "+nobadcookie"});
  EXPECT_TRUE(contains(bad.out, "status: BADCOOKIE")) << bad.out;
  EXPECT_TRUE(contains(bad.out, "ANSWER: 0,")) << bad.out;
  auto fresh = cookie_in(bad.out);
  EXPECT_EQ(fresh.hex.size(), 48u) << bad.out;
  EXPECT_NE(fresh.hex, tampered(c.hex)) << bad.out;
  EXPECT_GE(d.responses("BADCOOKIE"), 2);

  // dig's default: retry once with the cookie BADCOOKIE brought.
  auto automatic = dig(d.port, {"www.example.test", "A", "+cookie=" + tampered(c.hex)});
  EXPECT_TRUE(contains(automatic.out, "BADCOOKIE, retrying")) << automatic.out;
  EXPECT_TRUE(contains(automatic.out, "status: NOERROR")) << automatic.out;

  // TCP cannot be spoofed: answered whatever the cookie.
  auto tcp = dig(d.port, {"www.example.test", "A", "+tcp", "+cookie=" + tampered(c.hex), "+nobadcookie"});
  EXPECT_TRUE(contains(tcp.out, "status: NOERROR")) << tcp.out;
  EXPECT_EQ(record_lines(tcp.out).size(), 1u) << tcp.out;
  EXPECT_EQ(cookie_in(tcp.out).hex.size(), 48u) << tcp.out;

  // A client sending no cookie at all is not asked for one (as BIND).
  auto none = dig(d.port, {"www.example.test", "A", "+nocookie"});
  EXPECT_TRUE(contains(none.out, "status: NOERROR")) << none.out;
  EXPECT_EQ(cookie_in(none.out).hex, "") << none.out;
}

TEST_F(CookiesTest, ServersSharingASecretAcceptEachOthersCookies) {
  const std::string shared = "cookies: {secret: " + std::string(kSecret) + "}\n";
  Daemon a(dir_, "a", shared);
  Daemon b(dir_, "b", shared);
  Daemon other(dir_, "other", "");
  ASSERT_TRUE(a.started && b.started && other.started);
  auto c = cookie_in(dig(a.port, {"www.example.test", "A", "+cookie"}).out);
  ASSERT_EQ(c.hex.size(), 48u);
  auto at_b = dig(b.port, {"www.example.test", "A", "+cookie=" + c.hex, "+nobadcookie"});
  EXPECT_EQ(cookie_in(at_b.out).hex, c.hex) << at_b.out;
  EXPECT_EQ(b.cookie_queries("valid"), 1);
  // A server with its own random secret does not know it.
  auto at_other = dig(other.port, {"www.example.test", "A", "+cookie=" + c.hex, "+nobadcookie"});
  EXPECT_NE(cookie_in(at_other.out).hex, c.hex) << at_other.out;
  EXPECT_EQ(other.cookie_queries("valid"), 0);
  EXPECT_EQ(other.cookie_queries("invalid"), 1);
}

TEST_F(CookiesTest, CookiesCanBeTurnedOff) {
  Daemon d(dir_, "off", "cookies: {enabled: false}\n");
  ASSERT_TRUE(d.started) << d.process->read_all_stderr(1s);
  auto r = dig(d.port, {"www.example.test", "A", "+cookie"});
  EXPECT_TRUE(contains(r.out, "status: NOERROR")) << r.out;
  EXPECT_EQ(cookie_in(r.out).hex, "") << r.out;
}

}  // namespace
}  // namespace basalt::testing
