// Drives the management protocol of a real daemon process through a real pipe
// (--management) and a real Unix socket (--management-socket), as the
// smartrust TypeScript bridge does.
#include "basalt/testing/environment.hpp"
#include "basalt/testing/memory.hpp"
#include "basalt/testing/process.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <boost/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace basalt::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string app() {
  return binary("basalt-test-management");
}

json::object parse(const std::optional<std::string>& line) {
  EXPECT_TRUE(line.has_value()) << "no line within the timeout";
  if (!line) return {};
  return json::parse(*line).as_object();
}

// A client of the Unix socket, line by line.
class SocketClient {
 public:
  explicit SocketClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    for (int i = 0; i < 500; ++i) {  // the daemon may still be starting up
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "cannot connect to " << path;
  }
  ~SocketClient() { ::close(fd_); }
  void send(const std::string& line) {
    ASSERT_EQ(::send(fd_, line.data(), line.size(), MSG_NOSIGNAL), (ssize_t)line.size());
  }
  // Sends what it can; false once the daemon has closed the connection.
  bool try_send(const std::string& data) {
    for (std::size_t sent = 0; sent < data.size();) {
      auto n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  // The answer to request `id`, reading past events and other lines.
  std::optional<json::object> read_answer(const std::string& id, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto line = read_line(std::max(left, 0ms));
      if (!line) return std::nullopt;
      auto v = json::parse(*line).as_object();
      if (const auto* i = v.if_contains("id"); i && *i == json::value(id)) return v;
    }
  }
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buf_.find('\n'); nl != std::string::npos) {
        auto line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char b[4096];
      auto n = ::read(fd_, b, sizeof b);
      if (n <= 0) return std::nullopt;
      buf_.append(b, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buf_;
};

int occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// The attack: subscribers that never read while events keep coming. Bounds
// are made small (256 KiB of events per client) so that a few MB of events
// show whether output is bounded; by default they are 4 MiB and 16 MiB.
constexpr const char* kEventBound = "262144";
// 5000 events of about 1 KB from a worker thread, 50 every 0.5 ms: a steady
// stream of 5 MB, as a busy DNS server emits its query events.
constexpr const char* kFlood =
    R"({"id":"flood","method":"flood","params":{"count":5000,"bytes":1000,"group":50,"pauseUs":500}})"
    "\n";
// What the flood may cost in resident memory: generous against the bound
// (four clients' worth is 1 MiB), small against the 5 MB per client that
// unbounded queues hold.
constexpr long kMaxGrowthKib = 8 * 1024;

std::int64_t stat_of(const std::optional<json::object>& answer, const char* key) {
  if (!answer) return -1;
  return answer->at("result").at(key).to_number<std::int64_t>();
}

TEST(ManagementStdio, ReadyThenAnswersMatchedById) {
  Process p({.argv = {app(), "--management"}});
  auto ready = parse(p.read_line());
  EXPECT_EQ(ready.at("event"), "ready");
  EXPECT_EQ(ready.at("data").at("version"), "test");

  p.write(R"({"id":"req_1","method":"ping","params":{}})"
          "\n");
  EXPECT_EQ(parse(p.read_line()), json::parse(R"({"id":"req_1","success":true,"result":{"pong":true}})"));

  // Interleaved: the slow request is answered after the quick one sent later.
  p.write(R"({"id":"slow","method":"sleep","params":{"ms":300}})"
          "\n"
          R"({"id":"quick","method":"echo","params":{"x":[1,2]}})"
          "\n");
  auto first = parse(p.read_line());
  auto second = parse(p.read_line());
  EXPECT_EQ(first.at("id"), "quick");
  EXPECT_EQ(first.at("result"), json::parse(R"({"x":[1,2]})"));
  EXPECT_EQ(second.at("id"), "slow");
  EXPECT_EQ(second.at("result").at("slept"), 300);
}

TEST(ManagementStdio, StreamChunksPrecedeTheAnswer) {
  Process p({.argv = {app(), "--management"}});
  parse(p.read_line());
  p.write(R"({"id":9,"method":"count","params":{"n":3}})"
          "\n");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(parse(p.read_line()),
              json::parse(R"({"id":9,"stream":true,"data":{"i":)" + std::to_string(i) + "}}"));
  }
  EXPECT_EQ(parse(p.read_line()), json::parse(R"({"id":9,"success":true,"result":{"count":3}})"));
}

TEST(ManagementStdio, BadLinesGetErrorAnswersAndTheDaemonKeepsServing) {
  Process p({.argv = {app(), "--management"}});
  parse(p.read_line());
  p.write("this is not json\n");
  auto a = parse(p.read_line());
  EXPECT_EQ(a.at("success"), false);
  EXPECT_TRUE(a.at("id").is_null());
  EXPECT_NE(std::string(a.at("error").as_string()).find("malformed JSON"), std::string::npos);

  p.write(R"({"id":"u","method":"no.such.method"})"
          "\n");
  EXPECT_EQ(parse(p.read_line()),
            json::parse(R"({"id":"u","success":false,"error":"unknown method \"no.such.method\""})"));

  p.write(R"({"id":"f","method":"fail"})"
          "\n");
  EXPECT_EQ(parse(p.read_line()).at("error"), "refused: this command always fails");

  std::string huge(17 * 1024 * 1024, 'x');  // over the 16 MiB line limit
  huge.back() = '\n';
  p.write(huge);
  EXPECT_NE(std::string(parse(p.read_line(30s)).at("error").as_string()).find("longer than"),
            std::string::npos);

  p.write(R"({"id":"alive","method":"ping"})"
          "\n");
  EXPECT_EQ(parse(p.read_line()).at("result").at("pong"), true);
}

TEST(ManagementStdio, InvalidConfigIsRejectedWithKeyPathAndChangesNothing) {
  Process p({.argv = {app(), "--management"}});
  parse(p.read_line());
  p.write(
      R"({"id":1,"method":"configure","params":{"config":{"listen":[{"address":"127.0.0.1","port":53}]}}})"
      "\n");
  EXPECT_EQ(parse(p.read_line()).at("result").at("listeners"), 1);

  p.write(
      R"({"id":2,"method":"configure","params":{"config":{"listen":[{"address":"a","port":1},{"address":"b","port":70000}]}}})"
      "\n");
  EXPECT_EQ(
      parse(p.read_line()),
      json::parse(
          R"({"id":2,"success":false,"error":"config.listen[1].port: 70000 is not an integer between 0 and 65535"})"));
  p.write(R"({"id":3,"method":"configure","params":{"config":{"listen":[],"colour":"red"}}})"
          "\n");
  EXPECT_EQ(parse(p.read_line()).at("error"), "config.colour: unknown key (allowed: listen, log_level)");

  p.write(R"({"id":4,"method":"status"})"
          "\n");
  EXPECT_EQ(parse(p.read_line()).at("result").at("listeners"), 1);  // unchanged
}

TEST(ManagementStdio, StdoutCarriesProtocolLinesOnlyAndStdinEofStopsTheDaemon) {
  Process p({.argv = {app(), "--management"}, .capture_stderr = true});
  p.write(R"({"id":1,"method":"emit","params":{"event":"started","data":{"n":1}}})"
          "\n");
  p.write(R"({"id":2,"method":"ping"})"
          "\n");
  p.close_stdin();
  auto out = p.read_all(10s);
  ASSERT_EQ(p.wait(10s), 0);
  int lines = 0;
  std::size_t start = 0;
  while (start < out.size()) {
    auto nl = out.find('\n', start);
    ASSERT_NE(nl, std::string::npos) << "unterminated line";
    auto v = json::parse(out.substr(start, nl - start)).as_object();
    EXPECT_TRUE(v.contains("event") || v.contains("id")) << out.substr(start, nl - start);
    ++lines;
    start = nl + 1;
  }
  EXPECT_EQ(lines, 4);  // ready, started event, two answers
  EXPECT_NE(out.find(R"({"event":"started","data":{"n":1}})"), std::string::npos);
  EXPECT_NE(p.read_all_stderr(5s).find("stdin closed"), std::string::npos);  // logs went to stderr
}

TEST(ManagementSocket, SeveralClientsEachGetReadyAnswersAndEveryEvent) {
  TempDir dir;
  auto path = dir.file("mgmt.sock");
  Process p({.argv = {app(), "--management-socket", path}});
  SocketClient a(path), b(path);
  EXPECT_EQ(parse(a.read_line()).at("event"), "ready");
  EXPECT_EQ(parse(b.read_line()).at("event"), "ready");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  a.send(R"({"id":"a1","method":"echo","params":{"who":"a"}})"
         "\n");
  b.send(R"({"id":"b1","method":"echo","params":{"who":"b"}})"
         "\n");
  EXPECT_EQ(parse(a.read_line()).at("result").at("who"), "a");
  EXPECT_EQ(parse(b.read_line()).at("result").at("who"), "b");

  a.send(R"({"id":"e","method":"emit","params":{"event":"dnsQuery","data":{"x":1}}})"
         "\n");
  // The event reaches both clients; the answer only the one that asked.
  std::vector<json::object> from_a{parse(a.read_line()), parse(a.read_line())};
  EXPECT_TRUE((from_a[0].contains("event") && from_a[1].contains("id")) ||
              (from_a[1].contains("event") && from_a[0].contains("id")));
  EXPECT_EQ(parse(b.read_line()), json::parse(R"({"event":"dnsQuery","data":{"x":1}})"));
  EXPECT_FALSE(b.read_line(200ms).has_value());

  a.send("{broken\n");
  EXPECT_EQ(parse(a.read_line()).at("success"), false);
  b.send(R"({"id":"still","method":"ping"})"
         "\n");
  EXPECT_EQ(parse(b.read_line()).at("id"), "still");

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0);
  EXPECT_FALSE(std::filesystem::exists(path)) << "socket file left behind";
}

TEST(ManagementSocket, StaleSocketIsReplacedLiveOneIsRefused) {
  TempDir dir;
  auto path = dir.file("mgmt.sock");
  {
    Process first({.argv = {app(), "--management-socket", path}});
    SocketClient c(path);
    EXPECT_EQ(parse(c.read_line()).at("event"), "ready");
    Process second({.argv = {app(), "--management-socket", path}, .capture_stderr = true});
    EXPECT_EQ(second.wait(10s), 1);
    EXPECT_NE(second.read_all_stderr(2s).find("another process is listening"), std::string::npos);
    first.signal(SIGKILL);  // dies without cleaning up: the socket file stays
    first.wait();
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  Process third({.argv = {app(), "--management-socket", path}});
  SocketClient c(path);
  EXPECT_EQ(parse(c.read_line()).at("event"), "ready");
  c.send(R"({"id":"s","method":"stop"})"
         "\n");
  EXPECT_EQ(parse(c.read_line()).at("id"), "s");
  EXPECT_EQ(third.wait(10s), 0);
}

}  // namespace
}  // namespace basalt::testing

namespace basalt::testing {
namespace {

TEST(ManagementSocket, ClientsThatDoNotReadLoseEventsNotMemory) {
  TempDir dir;
  auto path = dir.file("mgmt.sock");
  Process p({.argv = {app(), "--management-socket", path, "--max-queued-event-bytes", kEventBound},
             .capture_stderr = true});
  // Four clients that never read after `ready` (accepted in this order:
  // clients 1 to 4), and one that reads.
  std::vector<std::unique_ptr<SocketClient>> silent;
  for (int i = 0; i < 4; ++i) {
    silent.push_back(std::make_unique<SocketClient>(path));
    ASSERT_EQ(parse(silent.back()->read_line()).at("event"), "ready");
  }
  SocketClient reader(path);
  ASSERT_EQ(parse(reader.read_line()).at("event"), "ready");
  auto before = resident_kib(p.pid());

  reader.send(kFlood);
  auto flood = reader.read_answer("flood");
  ASSERT_TRUE(flood) << "the reading client got no answer";
  EXPECT_EQ(flood->at("result").at("emitted"), 5000);
  auto after = resident_kib(p.pid());
  expect_growth_below(before, after, kMaxGrowthKib);

  reader.send(R"({"id":"stats","method":"managementStats"})"
              "\n");
  auto stats = reader.read_answer("stats");
  ASSERT_TRUE(stats);
  EXPECT_GT(stat_of(stats, "eventsDropped"), 0);
  EXPECT_EQ(stat_of(stats, "clientsDisconnected"), 0);

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0);
  auto log = p.read_all_stderr(5s);
  for (int i = 1; i <= 4; ++i) {
    auto warning = "management client " + std::to_string(i) + " (pid " + std::to_string(::getpid()) +
                   ") is not reading fast enough";
    EXPECT_EQ(occurrences(log, warning), 1) << warning << "\n" << log;
  }
}

TEST(ManagementSocket, EventsEmittedWhileTheManagementThreadIsBusyAreBoundedToo) {
  TempDir dir;
  auto path = dir.file("mgmt.sock");
  Process p({.argv = {app(), "--management-socket", path, "--max-queued-event-bytes", kEventBound},
             .capture_stderr = true});
  SocketClient reader(path);
  ASSERT_EQ(parse(reader.read_line()).at("event"), "ready");
  auto before = resident_kib(p.pid());

  // 8000 events of 1 KB from a worker while the management thread is blocked.
  reader.send(R"({"id":"flood","method":"flood","params":{"count":8000,"bytes":1000,"blockControl":true}})"
              "\n");
  auto flood = reader.read_answer("flood");
  ASSERT_TRUE(flood) << "no answer";
  EXPECT_EQ(flood->at("result").at("emitted"), 8000);
  auto after = resident_kib(p.pid());
  // At most 256 KiB wait for the management thread, and as much in the queue.
  expect_growth_below(before, after, 4 * 1024);
  reader.send(R"({"id":"stats","method":"managementStats"})"
              "\n");
  EXPECT_GT(stat_of(reader.read_answer("stats"), "eventsDropped"), 0);

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0);
  auto log = p.read_all_stderr(5s);
  EXPECT_EQ(occurrences(log, "management events come faster than this thread hands them out"), 1) << log;
}

TEST(ManagementStdio, DriverThatDoesNotReadStdoutLosesEventsNotMemory) {
  TempDir dir;
  auto path = dir.file("mgmt.sock");
  // The driver on stdio (as the smartdns package spawns the engine) stops
  // reading stdout; a socket client drives the flood and reads.
  Process p(
      {.argv = {app(), "--management", "--management-socket", path, "--max-queued-event-bytes", kEventBound},
       .capture_stderr = true});
  ASSERT_EQ(parse(p.read_line()).at("event"), "ready");
  SocketClient reader(path);
  ASSERT_EQ(parse(reader.read_line()).at("event"), "ready");
  auto before = resident_kib(p.pid());

  reader.send(kFlood);
  auto flood = reader.read_answer("flood");
  ASSERT_TRUE(flood) << "the socket client got no answer: is the management thread blocked on stdout?";
  auto after = resident_kib(p.pid());
  expect_growth_below(before, after, kMaxGrowthKib);

  // An answer to the stdio driver is queued behind the events, not dropped.
  p.write(R"({"id":"late","method":"ping"})"
          "\n");
  reader.send(R"({"id":"stats","method":"managementStats"})"
              "\n");
  auto stats = reader.read_answer("stats");
  EXPECT_GT(stat_of(stats, "eventsDropped"), 0);
  int events = 0;
  bool answered = false;
  while (auto line = p.read_line()) {
    auto v = json::parse(*line).as_object();
    if (v.contains("event")) {
      ++events;
      continue;
    }
    EXPECT_EQ(v.at("id"), "late");
    answered = true;
    break;
  }
  EXPECT_TRUE(answered) << "the stdio driver's answer was lost";
  EXPECT_GT(events, 0);
  EXPECT_LT(events, 5000);

  p.close_stdin();
  p.read_all(10s);
  EXPECT_EQ(p.wait(10s), 0);
  auto log = p.read_all_stderr(5s);
  EXPECT_EQ(occurrences(log, "management driver on stdout is not reading fast enough"), 1) << log;
}

TEST(ManagementSocket, ClientThatDoesNotReadItsAnswersIsDisconnectedWithoutLosingOne) {
  TempDir dir;
  auto path = dir.file("mgmt.sock");
  Process p({.argv = {app(), "--management-socket", path, "--max-queued-event-bytes", kEventBound,
                      "--max-queued-bytes", "1048576"},
             .capture_stderr = true});
  SocketClient greedy(path);
  ASSERT_EQ(parse(greedy.read_line()).at("event"), "ready");
  SocketClient other(path);
  ASSERT_EQ(parse(other.read_line()).at("event"), "ready");

  // 100 requests whose answers are 32 KiB each (3.2 MB), none of them read
  // while sending.
  std::string padding(32 * 1024, 'x');
  int sent = 0;
  for (; sent < 100; ++sent) {
    if (!greedy.try_send(R"({"id":)" + std::to_string(sent) + R"(,"method":"echo","params":{"p":")" +
                         padding + "\"}}\n"))
      break;
  }
  // What was queued arrives in order without a gap, then the connection ends.
  int answers = 0;
  while (auto line = greedy.read_line()) {
    auto v = json::parse(*line).as_object();
    ASSERT_EQ(v.at("id"), answers) << "an answer was skipped";
    ++answers;
  }
  EXPECT_LT(answers, 100) << "the client was not disconnected";

  other.send(R"({"id":"stats","method":"managementStats"})"
             "\n");
  auto stats = other.read_answer("stats");
  EXPECT_EQ(stat_of(stats, "clientsDisconnected"), 1);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(10s), 0);
  auto log = p.read_all_stderr(5s);
  EXPECT_EQ(occurrences(log, "disconnecting it"), 1) << log;
}

TEST(ManagementStdio, DriverThatDoesNotReadItsAnswersEndsTheSession) {
  Process p({.argv = {app(), "--management", "--max-queued-event-bytes", kEventBound, "--max-queued-bytes",
                      "1048576"},
             .capture_stderr = true});
  ASSERT_EQ(parse(p.read_line()).at("event"), "ready");
  // A thread writes, as this one does not read: the write blocks once the
  // daemon stops reading stdin (if it ever stalls, the kill below ends it).
  std::thread writer([&p] {
    std::string padding(32 * 1024, 'x');
    for (int i = 0; i < 100; ++i) {
      if (!p.write(R"({"id":)" + std::to_string(i) + R"(,"method":"echo","params":{"p":")" + padding +
                   "\"}}\n"))
        break;  // the daemon has exited
    }
  });
  // Without stdout the driver cannot be served: the daemon ends as on stdin EOF.
  auto status = p.wait(10s);
  if (!status) p.signal(SIGKILL);
  writer.join();
  EXPECT_EQ(status, 0) << "the daemon did not end";
  auto out = p.read_all(5s);
  int answers = 0;
  for (std::size_t start = 0, nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    auto v = json::parse(out.substr(start, nl - start)).as_object();
    ASSERT_EQ(v.at("id"), answers) << "an answer was skipped";
    ++answers;
  }
  EXPECT_GT(answers, 0);
  EXPECT_LT(answers, 100);
  auto log = p.read_all_stderr(5s);
  EXPECT_EQ(occurrences(log, "management driver on stdout has"), 1) << log;
  EXPECT_NE(log.find("stdin closed"), std::string::npos) << log;
}

}  // namespace
}  // namespace basalt::testing
