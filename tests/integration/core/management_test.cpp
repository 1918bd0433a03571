// Drives the management protocol of a real daemon process through a real pipe
// (--management) and a real Unix socket (--management-socket), as the
// smartrust TypeScript bridge does.
#include "basalt/testing/environment.hpp"
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
