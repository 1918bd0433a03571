// dns::Server with C++ handlers, queried by real dig over UDP and by raw TCP
// clients: handler semantics (case, order, NODATA/NXDOMAIN, SERVFAIL,
// timeouts, live changes), manual mode, and TCP behaviour under pipelining,
// idle and slow clients and the connection limit.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <boost/asio.hpp>

#include <thread>

#include "basalt/dns/server/server.hpp"
#include "basalt/dns/wire/message.hpp"
#include "basalt/testing/environment.hpp"
#include "dig.hpp"

namespace basalt::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using dns::Name;
using dns::Record;
using dns::RRType;

Record a(const Name& owner, std::string_view addr, std::uint32_t ttl = 60) {
  std::string err;
  return Record{owner, RRType::kA, dns::RRClass::kIN, ttl,
                *dns::rdata_from_text(RRType::kA, addr, Name(), &err)};
}

dns::ServerConfig config(std::size_t max_connections = 1024, std::chrono::milliseconds idle = 10s) {
  dns::ServerConfig c;
  c.listen = {*core::Endpoint::parse("127.0.0.1:1")};
  c.listen[0].port = 0;
  c.zones = {{.apex = "dyn.test"}};
  c.workers = 2;
  c.handler_timeout = 500ms;
  c.tcp.max_connections = max_connections;
  c.tcp.idle_timeout = idle;
  return c;
}

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { BASALT_REQUIRE_TOOL("dig"); }
  std::uint16_t start(dns::Server& s) {
    s.start();
    return s.udp_endpoints().at(0).port;
  }
};

TEST_F(HandlerTest, MixedCaseQueriesFindHandlersAndEveryMatchContributesInOrder) {
  dns::Server server(config());
  server.handle("*.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.0.1")}; });
  server.handle("web-*.dyn.test", {RRType::kA, RRType::kAAAA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.0.2")}; });
  auto port = start(server);
  auto r = dig(port, {"WeB-1.DyN.TeSt", "A", "+noall", "+answer"});
  EXPECT_EQ(record_lines(r.out), (std::vector<std::string>{"WeB-1.DyN.TeSt. 60 IN A 10.0.0.1",
                                                           "WeB-1.DyN.TeSt. 60 IN A 10.0.0.2"}));
  // A pattern with capitals matches every spelling too.
  server.handle("UPPER.DyN.test", {RRType::kAAAA}, [](const dns::Query& q) {
    std::string err;
    return std::vector<Record>{Record{q.question.name, RRType::kAAAA, dns::RRClass::kIN, 60,
                                      *dns::rdata_from_text(RRType::kAAAA, "2001:db8::9", Name(), &err)}};
  });
  for (std::string spelling : {"UPPER.DyN.test", "upper.dyn.test", "uPPeR.DYN.TEST"}) {
    EXPECT_EQ(dig(port, {spelling, "AAAA", "+short"}).out, "2001:db8::9\n") << spelling;
  }
  // Matches a pattern, no record of this type: NODATA. Matches nothing: NXDOMAIN.
  auto nodata = dig(port, {"other.dyn.test", "AAAA"});
  EXPECT_TRUE(contains(nodata.out, "status: NOERROR")) << nodata.out;
  EXPECT_TRUE(contains(nodata.out, "ANSWER: 0, AUTHORITY: 1")) << nodata.out;
  auto nx = dig(port, {"a.b.other.test", "A"});
  EXPECT_TRUE(contains(nx.out, "status: REFUSED")) << nx.out;
  dns::ServerConfig c2 = config();
  EXPECT_THROW(
      server.handle("*.example.com", {RRType::kA}, [](const dns::Query&) { return std::vector<Record>{}; }),
      std::invalid_argument);
}

// A record with invalid RDATA is left out, the others are answered, and it
// is counted where operators look: getMetrics JSON and Prometheus text.
TEST_F(HandlerTest, AnInvalidRecordIsLeftOutAndCounted) {
  dns::Server server(config());
  server.handle("www.dyn.test", {RRType::kA}, [](const dns::Query& q) {
    return std::vector<Record>{a(q.question.name, "10.0.0.1"),
                               Record{q.question.name, RRType::kA, dns::RRClass::kIN, 60, {10, 0, 0}}};
  });
  auto port = start(server);
  EXPECT_EQ(dig(port, {"www.dyn.test", "A", "+short"}).out, "10.0.0.1\n");
  auto m = server.metrics();
  EXPECT_EQ(m.invalid_handler_records, 1u);
  EXPECT_EQ(m.to_json().at("invalidHandlerRecords"), 1);
  EXPECT_TRUE(contains(m.prometheus(), "\nbasalt_dns_invalid_handler_records_total 1\n")) << m.prometheus();
}

TEST_F(HandlerTest, NameNoPatternCoversIsNxdomain) {
  dns::Server server(config());
  server.handle("www.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.0.3")}; });
  auto port = start(server);
  auto nx = dig(port, {"mail.dyn.test", "A"});
  EXPECT_TRUE(contains(nx.out, "status: NXDOMAIN")) << nx.out;
  EXPECT_EQ(dig(port, {"www.dyn.test", "A", "+short"}).out, "10.0.0.3\n");
}

TEST_F(HandlerTest, HandlersChangeWhileRunning) {
  dns::Server server(config());
  auto port = start(server);
  EXPECT_TRUE(contains(dig(port, {"late.dyn.test", "A"}).out, "status: NXDOMAIN"));
  auto id = server.handle("late.dyn.test", {RRType::kA}, [](const dns::Query& q) {
    return std::vector<Record>{a(q.question.name, "10.0.0.4")};
  });
  EXPECT_EQ(dig(port, {"late.dyn.test", "A", "+short"}).out, "10.0.0.4\n");
  EXPECT_TRUE(server.remove_handler(id));
  EXPECT_TRUE(contains(dig(port, {"late.dyn.test", "A"}).out, "status: NXDOMAIN"));
}

TEST_F(HandlerTest, ThrowingOrSlowHandlersCostServfailForThatQueryOnly) {
  dns::Server server(config());
  server.handle("boom.dyn.test", {RRType::kA},
                [](const dns::Query&) -> std::vector<Record> { throw std::runtime_error("handler bug"); });
  server.handle_async(
      "slow.dyn.test", {RRType::kA}, [](const dns::Query& q) -> asio::awaitable<std::vector<Record>> {
        asio::steady_timer t(co_await asio::this_coro::executor, 5s);  // beyond the 500 ms handler timeout
        co_await t.async_wait(asio::use_awaitable);
        co_return std::vector<Record>{a(q.question.name, "10.0.0.5")};
      });
  server.handle_async("async.dyn.test", {RRType::kA},
                      [](const dns::Query& q) -> asio::awaitable<std::vector<Record>> {
                        asio::steady_timer t(co_await asio::this_coro::executor, 50ms);
                        co_await t.async_wait(asio::use_awaitable);
                        co_return std::vector<Record>{a(q.question.name, "10.0.0.6")};
                      });
  server.handle("fast.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.0.7")}; });
  auto port = start(server);
  EXPECT_TRUE(contains(dig(port, {"boom.dyn.test", "A"}).out, "status: SERVFAIL"));
  // While a slow handler holds one query, others are answered.
  std::thread slow([&] { EXPECT_TRUE(contains(dig(port, {"slow.dyn.test", "A"}).out, "status: SERVFAIL")); });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(dig(port, {"fast.dyn.test", "A", "+short"}).out, "10.0.0.7\n");
  EXPECT_EQ(dig(port, {"async.dyn.test", "A", "+short"}).out, "10.0.0.6\n");
  slow.join();
  auto m = server.metrics();
  EXPECT_GE(m.handler_failures, 2u);
}

TEST_F(HandlerTest, ManualModeAnswersRawPackets) {
  dns::Server server(config());
  server.handle("m.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.0.8")}; });
  dns::Message q;
  q.header.id = 77;
  q.questions.push_back({*Name::from_text("M.Dyn.Test."), RRType::kA, dns::RRClass::kIN});
  auto reply = server.process_packet(q.to_wire());
  dns::Message m;
  ASSERT_EQ(dns::Message::parse(reply, m), dns::WireError::kOk);
  EXPECT_EQ(m.header.id, 77);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].to_text(), "M.Dyn.Test. 60 IN A 10.0.0.8");
}

// A raw TCP client: frames queries, reads framed answers.
class TcpClient {
 public:
  explicit TcpClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  }
  ~TcpClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send_raw(const std::vector<std::uint8_t>& bytes) {
    (void)!::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  static std::vector<std::uint8_t> framed(const std::string& name, std::uint16_t id) {
    dns::Message q;
    q.header.id = id;
    q.questions.push_back({*Name::from_text(name), RRType::kA, dns::RRClass::kIN});
    auto wire = q.to_wire();
    std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(wire.size() >> 8),
                                     static_cast<std::uint8_t>(wire.size())};
    out.insert(out.end(), wire.begin(), wire.end());
    return out;
  }
  // The next answer, or nullopt when the server closed the connection or on timeout.
  std::optional<dns::Message> read(std::chrono::milliseconds timeout = 5s) {
    std::vector<std::uint8_t> len(2);
    if (!read_exact(len.data(), 2, timeout)) return std::nullopt;
    std::vector<std::uint8_t> msg((len[0] << 8) | len[1]);
    if (!read_exact(msg.data(), msg.size(), timeout)) return std::nullopt;
    dns::Message m;
    if (dns::Message::parse(msg, m) != dns::WireError::kOk) return std::nullopt;
    return m;
  }
  // True if the server closed the connection within `timeout`.
  bool closed_by_server(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char b;
    return ::recv(fd_, &b, 1, MSG_DONTWAIT) == 0;
  }

 private:
  bool read_exact(std::uint8_t* p, std::size_t n, std::chrono::milliseconds timeout) {
    while (n > 0) {
      pollfd pf{fd_, POLLIN, 0};
      if (::poll(&pf, 1, static_cast<int>(timeout.count())) <= 0) return false;
      auto r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

TEST_F(HandlerTest, TcpPipelinedQueriesAreAnsweredAsTheyComplete) {
  auto cfg = config();
  cfg.handler_timeout = 10s;  // the slow handler must not time out on a loaded machine
  dns::Server server(cfg);
  server.handle_async("slow.dyn.test", {RRType::kA},
                      [](const dns::Query& q) -> asio::awaitable<std::vector<Record>> {
                        asio::steady_timer t(co_await asio::this_coro::executor, 200ms);
                        co_await t.async_wait(asio::use_awaitable);
                        co_return std::vector<Record>{a(q.question.name, "10.0.1.1")};
                      });
  server.handle("quick.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.1.2")}; });
  auto port = start(server);
  TcpClient c(port);
  ASSERT_TRUE(c.connected());
  auto both = TcpClient::framed("slow.dyn.test.", 1);
  auto second = TcpClient::framed("quick.dyn.test.", 2);
  both.insert(both.end(), second.begin(), second.end());
  c.send_raw(both);  // two queries in one segment
  auto first = c.read();
  auto next = c.read();
  ASSERT_TRUE(first && next);
  EXPECT_EQ(first->header.id, 2);  // the quick one overtakes
  EXPECT_EQ(next->header.id, 1);
  ASSERT_EQ(next->answers.size(), 1u) << "rcode " << next->rcode();
  EXPECT_EQ(next->answers[0].to_text(), "slow.dyn.test. 60 IN A 10.0.1.1");
}

TEST_F(HandlerTest, SilentAndSlowTcpClientsAreCutOffWithoutHurtingOthers) {
  dns::Server server(config(1024, 300ms));
  server.handle("x.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.2.1")}; });
  auto port = start(server);
  TcpClient silent(port);
  TcpClient dribbler(port);
  ASSERT_TRUE(silent.connected() && dribbler.connected());
  auto q = TcpClient::framed("x.dyn.test.", 5);
  // One byte every 100 ms: the whole query would take over a second.
  std::thread drip([&] {
    for (std::size_t i = 0; i < q.size(); ++i) {
      dribbler.send_raw({q[i]});
      std::this_thread::sleep_for(100ms);
    }
  });
  EXPECT_EQ(dig(port, {"x.dyn.test", "A", "+tcp", "+short"}).out,
            "10.0.2.1\n");  // others are served meanwhile
  EXPECT_TRUE(silent.closed_by_server(5s));
  EXPECT_FALSE(dribbler.read(5s).has_value());
  drip.join();
  EXPECT_GE(server.metrics().tcp_timeouts, 2u);
}

TEST_F(HandlerTest, AtTheConnectionLimitTheOldestIdleConnectionMakesRoom) {
  dns::Server server(config(2));
  server.handle("x.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.3.1")}; });
  auto port = start(server);
  TcpClient one(port);
  ASSERT_TRUE(one.connected());
  one.send_raw(TcpClient::framed("x.dyn.test.", 1));
  ASSERT_TRUE(one.read());
  TcpClient two(port);
  two.send_raw(TcpClient::framed("x.dyn.test.", 2));
  ASSERT_TRUE(two.read());  // both served, now idle
  // A third client is served; the oldest idle connection was closed for it.
  TcpClient three(port);
  three.send_raw(TcpClient::framed("x.dyn.test.", 3));
  EXPECT_TRUE(three.read().has_value());
  EXPECT_TRUE(one.closed_by_server(5s));
  two.send_raw(TcpClient::framed("x.dyn.test.", 4));
  EXPECT_TRUE(two.read().has_value());
  EXPECT_EQ(server.metrics().tcp_evicted, 1u);
  EXPECT_EQ(server.metrics().tcp_rejected, 0u);
}

TEST_F(HandlerTest, MalformedTcpFramesCloseOnlyThatConnection) {
  dns::Server server(config());
  server.handle("x.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.4.1")}; });
  auto port = start(server);
  TcpClient tiny(port), cut(port), good(port);
  tiny.send_raw({0x00, 0x05, 1, 2, 3, 4, 5});  // shorter than a DNS header: stream out of sync
  EXPECT_TRUE(tiny.closed_by_server(5s));
  {
    TcpClient truncated(port);
    truncated.send_raw({0x01, 0x00, 0xab, 0xcd});  // announces 256 bytes, sends 2, goes away
  }
  good.send_raw(TcpClient::framed("x.dyn.test.", 9));
  auto reply = good.read();
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->answers.size(), 1u) << "rcode " << reply->rcode();
  EXPECT_EQ(reply->answers[0].to_text(), "x.dyn.test. 60 IN A 10.0.4.1");
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server.metrics().tcp_bad_frames < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // polling a counter with a deadline, not synchronising
  }
  EXPECT_EQ(server.metrics().tcp_bad_frames, 2u);
}

TEST_F(HandlerTest, QueriesBeyondTheHandlerQueueAreDroppedNotQueued) {
  auto c = config();
  c.workers = 1;
  c.max_handler_queries = 4;
  dns::Server server(c);
  // A driver that never answers: every query waits out the handler timeout.
  server.handle_async("stuck.dyn.test", {RRType::kA},
                      [](const dns::Query&) -> asio::awaitable<std::vector<Record>> {
                        asio::steady_timer t(co_await asio::this_coro::executor, 5s);
                        co_await t.async_wait(asio::use_awaitable);
                        co_return std::vector<Record>{};
                      });
  server.handle("fast.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.6.1")}; });
  auto port = start(server);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 20; ++i) {
    dns::Message q;
    q.header.id = static_cast<std::uint16_t>(i);
    q.questions.push_back({*Name::from_text("stuck.dyn.test."), RRType::kA, dns::RRClass::kIN});
    auto wire = q.to_wire();
    ::sendto(fd, wire.data(), wire.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // Queries that need no waiting handler are still answered at once.
  EXPECT_EQ(dig(port, {"fast.dyn.test", "A", "+short"}).out, "10.0.6.1\n");
  // Four wait and end in SERVFAIL at the handler timeout; sixteen were dropped.
  std::array<std::uint8_t, 512> buf;
  int answered = 0;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (::recv(fd, buf.data(), buf.size(), 0) > 0) {
    EXPECT_EQ(buf[3] & 0x0f, 2);
    ++answered;
  }
  ::close(fd);
  EXPECT_EQ(answered, 4);
  EXPECT_EQ(server.metrics().handler_overload, 16u);
}

TEST_F(HandlerTest, AFloodOfUnknownNamesIsAnsweredAndCountedWhileOthersAreServed) {
  auto cfg = config();
  // The flood comes from one socket, so it lands on one worker faster than it
  // drains: a buffer that holds all of it (the default drops, by design).
  cfg.udp.receive_buffer = 4 << 20;
  dns::Server server(cfg);
  server.handle("known.dyn.test", {RRType::kA},
                [](const dns::Query& q) { return std::vector<Record>{a(q.question.name, "10.0.5.1")}; });
  auto port = start(server);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  int big = 16 << 20;  // room for every answer while we are still sending
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  constexpr int kFlood = 3000;
  for (int i = 0; i < kFlood; ++i) {
    dns::Message q;
    q.header.id = static_cast<std::uint16_t>(i);
    q.questions.push_back(
        {*Name::from_text("r" + std::to_string(i) + ".dyn.test."), RRType::kA, dns::RRClass::kIN});
    auto wire = q.to_wire();
    ::sendto(fd, wire.data(), wire.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  EXPECT_EQ(dig(port, {"known.dyn.test", "A", "+short", "+tries=3"}).out, "10.0.5.1\n");
  // Every flood query that reached the server was answered NXDOMAIN (the
  // kernel may drop some when our socket buffer is full; those are not ours to count).
  std::array<std::uint8_t, 512> buf;
  int answered = 0;
  timeval tv{0, 300'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (::recv(fd, buf.data(), buf.size(), 0) > 0) {
    EXPECT_EQ(buf[3] & 0x0f, 3);
    ++answered;
  }
  ::close(fd);
  auto m = server.metrics();
  EXPECT_GT(answered, kFlood * 9 / 10);
  EXPECT_GE(m.responses_by_rcode["NXDOMAIN"], static_cast<std::uint64_t>(answered));
  EXPECT_EQ(m.responses_by_rcode["NOERROR"], 1u);  // the known name, answered amid the flood
}

}  // namespace
}  // namespace basalt::testing
