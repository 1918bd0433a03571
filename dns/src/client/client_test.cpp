// dns::Client against fake upstreams on loopback: answers with the wrong ID
// or question are ignored, dead and silent upstreams fail over within the
// timeout, record data is presented as the smartdns client does, and
// resolv.conf nameservers are read as the C library reads them.
#include "basalt/dns/client/client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "client/resolv_conf.hpp"

namespace basalt::dns {
namespace {

using namespace std::chrono_literals;

Record record(std::string_view owner, RRType type, std::string_view text, std::uint32_t ttl = 300) {
  std::string err;
  auto rdata = rdata_from_text(type, text, *Name::from_text("example.test."), &err);
  EXPECT_TRUE(rdata) << err;
  return Record{*Name::from_text(owner), type, RRClass::kIN, ttl, rdata.value_or(Bytes{})};
}

TEST(AnswerValue, PresentsRecordDataLikeTheSmartdnsClient) {
  auto v = [](RRType t, std::string_view text) { return answer_value(t, record("x.test.", t, text).rdata); };
  EXPECT_EQ(v(RRType::kA, "192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(v(RRType::kAAAA, "2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(v(RRType::kMX, "10 mail.example.test."), "10 mail.example.test");
  EXPECT_EQ(v(RRType::kNS, "ns1"), "ns1.example.test");
  EXPECT_EQ(v(RRType::kCNAME, "www.example.test."), "www.example.test");
  EXPECT_EQ(v(RRType::kTXT, R"("v=spf1 " "mx -all")"), "v=spf1 mx -all");
  EXPECT_EQ(v(RRType::kSRV, "10 60 5060 sip.example.test."), "10 60 5060 sip.example.test");
  EXPECT_EQ(v(RRType::kSOA, "ns1 hostmaster 7 7200 3600 1209600 300"),
            "ns1.example.test hostmaster.example.test 7 7200 3600 1209600 300");
  EXPECT_EQ(v(RRType::kCAA, R"(0 issue "letsencrypt.org")"), R"(0 issue "letsencrypt.org")");
  EXPECT_EQ(v(RRType::kPTR, "host.example.test."), "host.example.test");
}

TEST(AnswerValue, AnswersKeepOnlyTheAskedTypeAndCarryTheAdBit) {
  Message m;
  m.header.qr = true;
  m.header.ad = true;
  m.answers = {record("api.example.test.", RRType::kCNAME, "www.example.test."),
               record("www.example.test.", RRType::kA, "127.0.0.1", 60)};
  auto as = answers_of(m, RRType::kA);
  ASSERT_EQ(as.size(), 1u);
  EXPECT_EQ(as[0].name, "www.example.test");
  EXPECT_EQ(as[0].ttl, 60u);
  EXPECT_EQ(as[0].value, "127.0.0.1");
  EXPECT_TRUE(as[0].dnssec_enabled);
  EXPECT_EQ(as[0].record.type, RRType::kA);
  EXPECT_EQ(answers_of(m, std::nullopt).size(), 2u);
}

TEST(ResolvConf, ReadsNameserversInOrderAndIgnoresTheRest) {
  auto ns = client_detail::parse_resolv_conf(
      "# comment\nsearch example.test\nnameserver 127.0.0.53 # local\n"
      "nameserver\tfd00::1\n  nameserver 10.0.0.1\nnameserver bogus\nnameserverx 10.0.0.9\n"
      "; nameserver 10.0.0.2\noptions edns0 trust-ad\nnameserver 10.0.0.3\n");
  ASSERT_EQ(ns.size(), 3u);
  EXPECT_EQ(ns[0].to_string(), "127.0.0.53");
  EXPECT_EQ(ns[1].to_string(), "fd00::1");
  EXPECT_EQ(ns[2].to_string(), "10.0.0.1");
  EXPECT_TRUE(client_detail::parse_resolv_conf("").empty());
  EXPECT_TRUE(client_detail::parse_resolv_conf("nameserver").empty());
}

TEST(StrategyNames, RoundTrip) {
  for (auto s :
       {Strategy::kSystem, Strategy::kUdp, Strategy::kDoh, Strategy::kPreferSystem, Strategy::kPreferUdp}) {
    EXPECT_EQ(strategy_from_string(to_string(s)), s);
  }
  EXPECT_FALSE(strategy_from_string("tcp"));
}

// A UDP socket on 127.0.0.1 that answers queries with a scripted list of
// responses built from each query.
class FakeUpstream {
 public:
  using Script = std::function<std::vector<Bytes>(const Message& query)>;
  explicit FakeUpstream(Script script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  core::Endpoint endpoint() const { return {core::IpAddress::v4_loopback(), port_}; }
  int queries() const { return queries_; }

 private:
  void serve() {
    std::uint8_t buf[4096];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      auto n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      Message q;
      if (Message::parse({buf, static_cast<std::size_t>(n)}, q) != WireError::kOk) continue;
      ++queries_;
      for (const auto& out : script_(q)) {
        ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }
  Script script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

Message answer_to(const Message& q, std::string_view address) {
  Message r;
  r.header = q.header;
  r.header.qr = true;
  r.questions = q.questions;
  r.answers.push_back(Record{q.questions.at(0).name, RRType::kA, RRClass::kIN, 60,
                             *rdata_from_text(RRType::kA, address, Name(), nullptr)});
  return r;
}

ClientOptions udp_options(std::vector<core::Endpoint> upstreams) {
  ClientOptions o;
  o.strategy = Strategy::kUdp;
  o.udp_upstreams = std::move(upstreams);
  o.doh_urls = {};
  o.timeout = 3s;
  o.attempt_timeout = 400ms;
  return o;
}

TEST(UdpClient, IgnoresAnswersWithTheWrongIdOrQuestionAndTakesTheRealOne) {
  FakeUpstream up([](const Message& q) {
    Message wrong_id = answer_to(q, "192.0.2.66");
    wrong_id.header.id = static_cast<std::uint16_t>(q.header.id + 1);
    Message wrong_question = answer_to(q, "192.0.2.67");
    wrong_question.questions[0].name = *Name::from_text("evil.test.");
    Message not_a_response = answer_to(q, "192.0.2.68");
    not_a_response.header.qr = false;
    Bytes garbage = {1, 2, 3};
    return std::vector<Bytes>{wrong_id.to_wire(), wrong_question.to_wire(), not_a_response.to_wire(), garbage,
                              answer_to(q, "192.0.2.1").to_wire()};
  });
  BlockingClient client(udp_options({up.endpoint()}));
  auto ex = client.exchange("www.example.test", RRType::kA, UpstreamTransport::kUdp);
  ASSERT_TRUE(ex) << ex.error;
  EXPECT_EQ(ex.ignored, 4u);
  auto r = client.query("www.example.test", RRType::kA);
  ASSERT_TRUE(r) << r.error;
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].value, "192.0.2.1");
}

TEST(UdpClient, OnlySpoofedAnswersMeansTimeoutNotAWrongAnswer) {
  FakeUpstream up([](const Message& q) {
    Message m = answer_to(q, "192.0.2.66");
    m.header.id ^= 0x5a5a;
    return std::vector<Bytes>{m.to_wire()};
  });
  auto o = udp_options({up.endpoint()});
  o.timeout = 600ms;
  o.attempt_timeout = 200ms;
  BlockingClient client(o);
  auto r = client.query("www.example.test", RRType::kA);
  EXPECT_EQ(r.status, QueryStatus::kTimeout) << r.error;
  EXPECT_TRUE(r.answers.empty());
  EXPECT_NE(r.error.find("mismatched answers ignored"), std::string::npos) << r.error;
}

TEST(UdpClient, QueriesUseRandomIdsAndSourcePortsWithEdnsDo) {
  std::mutex m;
  std::set<std::uint16_t> ids;
  bool edns_do = true;
  FakeUpstream up([&](const Message& q) {
    std::lock_guard lock(m);
    ids.insert(q.header.id);
    edns_do = edns_do && q.edns && q.edns->dnssec_ok && q.edns->udp_payload_size >= 1232 && q.header.rd;
    return std::vector<Bytes>{answer_to(q, "192.0.2.1").to_wire()};
  });
  BlockingClient client(udp_options({up.endpoint()}));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.query("www.example.test", RRType::kA));
  std::lock_guard lock(m);
  EXPECT_GE(ids.size(), 18u);  // 16-bit IDs: a repeat among 20 is possible, many are not
  EXPECT_TRUE(edns_do);
}

TEST(UdpClient, DeadAndSilentUpstreamsFailOverWithinTheTimeout) {
  // Nothing listens on `dead` (ICMP port unreachable), `silent` never answers.
  int silent_fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent_fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(silent_fd, reinterpret_cast<sockaddr*>(&a), &len);
  core::Endpoint silent{core::IpAddress::v4_loopback(), ntohs(a.sin_port)};
  core::Endpoint dead;
  {
    FakeUpstream gone([](const Message&) { return std::vector<Bytes>{}; });
    dead = gone.endpoint();
  }
  FakeUpstream good([](const Message& q) { return std::vector<Bytes>{answer_to(q, "192.0.2.9").to_wire()}; });
  BlockingClient client(udp_options({dead, silent, good.endpoint()}));
  auto r = client.query("www.example.test", RRType::kA);
  ASSERT_TRUE(r) << r.error;
  EXPECT_EQ(r.server, good.endpoint().to_string());
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].value, "192.0.2.9");

  // Everything dead: the reason names the last upstream tried; retries happened.
  BlockingClient none(udp_options({dead}));
  auto e = none.query("www.example.test", RRType::kA);
  EXPECT_EQ(e.status, QueryStatus::kNetworkError);
  EXPECT_NE(e.error.find(dead.to_string()), std::string::npos) << e.error;
  ::close(silent_fd);
}

TEST(UdpClient, ServfailMovesOnToTheNextUpstream) {
  FakeUpstream bad([](const Message& q) {
    Message m = answer_to(q, "192.0.2.1");
    m.answers.clear();
    m.set_rcode(static_cast<std::uint16_t>(Rcode::kServFail));
    return std::vector<Bytes>{m.to_wire()};
  });
  FakeUpstream good([](const Message& q) { return std::vector<Bytes>{answer_to(q, "192.0.2.2").to_wire()}; });
  BlockingClient client(udp_options({bad.endpoint(), good.endpoint()}));
  auto r = client.query("x.example.test", RRType::kA);
  ASSERT_TRUE(r);
  EXPECT_EQ(r.rcode, 0);
  ASSERT_EQ(r.answers.size(), 1u);
  // Only SERVFAIL everywhere: that response is the result.
  BlockingClient only_bad(udp_options({bad.endpoint()}));
  auto s = only_bad.query("x.example.test", RRType::kA);
  ASSERT_TRUE(s);
  EXPECT_EQ(s.rcode, static_cast<std::uint16_t>(Rcode::kServFail));
}

TEST(Client, RejectsUnusableOptionsAndNames) {
  ClientOptions o = udp_options({});
  EXPECT_THROW(BlockingClient{o}, std::invalid_argument);
  o = udp_options({core::Endpoint{core::IpAddress::v4_loopback(), 9}});
  o.strategy = Strategy::kDoh;
  EXPECT_THROW(BlockingClient{o}, std::invalid_argument);
  o.doh_urls = {"ftp://x"};
  EXPECT_THROW(BlockingClient{o}, std::invalid_argument);
  BlockingClient c(udp_options({core::Endpoint{core::IpAddress::v4_loopback(), 9}}));
  auto r = c.query("a..b", RRType::kA);
  EXPECT_EQ(r.status, QueryStatus::kBadQuery);
}

}  // namespace
}  // namespace basalt::dns
