// basalt-dns's response rate limiting (config `rrl`) against UDP clients on
// loopback, each bound to its own 127/8 address to be a different source: a
// source flooding random names gets few answers (some truncated, so a real
// client would retry over TCP), while another network, an exempt network and
// TCP clients get every answer; what was limited shows in the logs and the
// counters.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <optional>

#include "basalt/dns/wire/message.hpp"
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
www      IN A    192.0.2.1
)";

std::vector<std::uint8_t> query(std::uint16_t id, const std::string& name) {
  dns::Message q;
  q.header.id = id;
  q.header.rd = true;
  q.questions.push_back({*dns::Name::from_text(name), dns::RRType::kA, dns::RRClass::kIN});
  return q.to_wire();
}

// A UDP socket bound to `from` (an address on lo), talking to 127.0.0.1:port.
class UdpClient {
 public:
  UdpClient(const std::string& from, std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    int buffer = 1 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    ::inet_pton(AF_INET, from.c_str(), &src.sin_addr);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&src), sizeof src) == 0;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bound_ = bound_ && ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;
  bool ok() const { return bound_; }

  void send(const std::vector<std::uint8_t>& msg) { ::send(fd_, msg.data(), msg.size(), 0); }

  // The answers that arrive until none has for `quiet`.
  std::vector<dns::Message> drain(std::chrono::milliseconds quiet) {
    std::vector<dns::Message> out;
    std::uint8_t buf[4096];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) return out;
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      dns::Message m;
      if (dns::Message::parse({buf, static_cast<std::size_t>(n)}, m) == dns::WireError::kOk)
        out.push_back(std::move(m));
    }
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

// What a client got for its queries.
struct Tally {
  int sent = 0;
  int full = 0;       // complete answers (TC clear)
  int truncated = 0;  // TC set: header and question only
  int bad = 0;        // a truncated answer with records, or without the question
};

class RrlTest : public ::testing::Test {
 protected:
  void start(const std::string& rrl, const std::string& more_config = "") {
    BASALT_REQUIRE_TOOL("dig");
    std::ofstream(dir_.file("example.test.zone")) << kZone;
    port_ = free_port();
    std::ofstream(dir_.file("config.yaml")) << "listen: [127.0.0.1:" << port_ << "]\n"
                                            << "zones: [{file: " << dir_.file("example.test.zone") << "}]\n"
                                            << "workers: 2\n"
                                            << "rrl: " << rrl << "\n"
                                            << more_config;
    server_.emplace(Process::Options{
        .argv = {binary("basalt-dns"), "serve", "--config", dir_.file("config.yaml"), "--state-dir",
                 dir_.path(), "--management-socket", dir_.file("mgmt.sock"), "--log-level", "info"},
        .capture_stderr = true});
    ASSERT_TRUE(wait_for_answer(port_, "ns1.example.test", "A", "127.0.0.1", *server_))
        << "basalt-dns did not start: " << server_->read_all_stderr(1s);
  }

  void TearDown() override {
    if (server_ && server_->running()) {
      server_->signal(SIGTERM);
      EXPECT_EQ(server_->wait(10s), 0);
    }
  }

  // `count` queries from `from` for `name(i)`, 50 at a time, and what came back.
  Tally ask(const std::string& from, int count, const std::function<std::string(int)>& name) {
    UdpClient c(from, port_);
    EXPECT_TRUE(c.ok()) << "cannot bind " << from;
    Tally t;
    for (int i = 0; i < count;) {
      for (int j = 0; j < 50 && i < count; ++j, ++i) {
        c.send(query(static_cast<std::uint16_t>(i), name(i)));
        ++t.sent;
      }
      for (const auto& m : c.drain(200ms)) {
        if (!m.header.tc) {
          ++t.full;
        } else {
          ++t.truncated;
          if (!m.answers.empty() || !m.authority.empty() || m.questions.size() != 1) ++t.bad;
        }
      }
    }
    return t;
  }

  // The server's counter `name` from getMetrics.
  long metric(const std::string& name) {
    auto r =
        run({"python3", "-c",
             "import socket,sys,json;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);f=s.makefile();"
             "f.readline();s.sendall(b'{\"id\":1,\"method\":\"getMetrics\"}\\n');"
             "print(json.loads(f.readline())['result'].get(sys.argv[2], -1))",
             dir_.file("mgmt.sock"), name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? std::stol(r.out) : -1;
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  std::optional<Process> server_;
};

std::string random_name(int i) {
  return "nx" + std::to_string(i) + "-" + std::to_string(::getpid()) + ".example.test";
}

TEST_F(RrlTest, AFloodingSourceIsLimitedWhileAnotherNetworkIsAnswered) {
  start("{rate: 5, slip: 2, exempt: [127.0.3.0/24]}");
  // 400 random names from one source: a burst of 20 (4 s of the rate), then
  // 5 answers a second; of the rest, every second one goes out truncated.
  Tally flood = ask("127.0.1.2", 400, random_name);
  EXPECT_LT(flood.full, 100) << "most of the flood was answered";
  EXPECT_GT(flood.truncated, 50) << "no truncated answers (slip)";
  EXPECT_LT(flood.full + flood.truncated, 350) << "no answer was dropped";
  EXPECT_EQ(flood.bad, 0);

  // Another network, at once: every answer.
  Tally other = ask("127.0.2.3", 10, [](int) { return std::string("www.example.test"); });
  EXPECT_EQ(other.full, 10);
  // The flooding network's NXDOMAIN bucket is empty, not its answers for
  // existing names (each kind and question has its own).
  Tally same = ask("127.0.1.5", 5, [](int) { return std::string("www.example.test"); });
  EXPECT_EQ(same.full, 5);

  // An exempt network is never limited.
  Tally exempt = ask("127.0.3.4", 200, random_name);
  EXPECT_EQ(exempt.full, 200);
  EXPECT_EQ(exempt.truncated, 0);

  // Over TCP the source cannot be forged: the flooding source gets every answer.
  ask("127.0.1.2", 50, random_name);
  for (int i = 0; i < 5; ++i) {
    auto r = dig(port_, {"-b", "127.0.1.2", "+tcp", random_name(1000 + i), "A"});
    EXPECT_TRUE(contains(r.out, "status: NXDOMAIN")) << r.out;
  }

  EXPECT_GT(metric("rrlDropped"), 0);
  EXPECT_GT(metric("rrlSlipped"), 0);
  server_->signal(SIGTERM);
  EXPECT_EQ(server_->wait(10s), 0);
  auto log = server_->read_all_stderr(2s);
  EXPECT_TRUE(contains(log, "rate limiting nxdomain answers to 127.0.1.0/24 (zone example.test.): started"))
      << log;
  EXPECT_FALSE(contains(log, "127.0.2.0/24")) << log;
  EXPECT_FALSE(contains(log, "127.0.3.0/24")) << log;
}

// With each network's datagrams steered to one worker (udp.steering), the
// flooding network is still limited and every other network answered,
// whichever worker serves it.
TEST_F(RrlTest, SteeredBySourceNetworkTheFloodIsLimitedAndEveryNetworkAnswered) {
  start("{rate: 5, slip: 2}", "udp: {steering: source_network}\n");
  Tally flood = ask("127.0.1.2", 400, random_name);
  EXPECT_LT(flood.full, 100) << "most of the flood was answered";
  EXPECT_GT(flood.truncated, 50) << "no truncated answers (slip)";
  for (auto from : {"127.0.2.3", "127.0.3.4", "127.0.4.5", "127.0.5.6"}) {
    Tally t = ask(from, 10, [](int) { return std::string("www.example.test"); });
    EXPECT_EQ(t.full, 10) << from;
  }
}

TEST_F(RrlTest, WithSlipOneEveryLimitedAnswerIsTruncatedAndDigRetriesOverTcp) {
  start("{rate: 1, burst: 1s, slip: 1}");
  Tally flood = ask("127.0.1.2", 200, random_name);
  EXPECT_LT(flood.full, 50);
  EXPECT_GE(flood.full + flood.truncated, 190);  // nothing dropped (a few may be lost on the way)
  EXPECT_EQ(flood.bad, 0);
  // The bucket holds less than one answer: of two queries in a row, one at
  // least is truncated, and dig asks again over TCP.
  bool retried = false;
  for (int i = 0; i < 2 && !retried; ++i) {
    auto r = dig(port_, {"-b", "127.0.1.2", random_name(2000 + i), "A"});
    EXPECT_TRUE(contains(r.out, "status: NXDOMAIN")) << r.out;
    retried = contains(r.out, "Truncated, retrying in TCP mode");
  }
  EXPECT_TRUE(retried);
}

TEST_F(RrlTest, WithSlipZeroEveryLimitedAnswerIsDropped) {
  start("{rate: 5, burst: 1s, slip: 0}");
  Tally flood = ask("127.0.1.2", 200, random_name);
  EXPECT_LT(flood.full, 100);
  EXPECT_EQ(flood.truncated, 0);
  EXPECT_GT(metric("rrlDropped"), 100);
  EXPECT_EQ(metric("rrlSlipped"), 0);
}

}  // namespace
}  // namespace basalt::testing
