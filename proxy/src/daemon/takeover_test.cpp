#include "daemon/takeover.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon/takeover_channel.hpp"

namespace basalt::proxy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(TakeoverProtocolTest, LinesAreVersionedObjectsWithAKnownOp) {
  auto m = parse_takeover_line(R"({"v":1,"op":"hello","pid":42})");
  EXPECT_EQ(m.op, "hello");
  EXPECT_EQ(m.number("pid"), 42u);
  EXPECT_THROW(m.number("missing"), TakeoverError);
  EXPECT_EQ(m.text("pid"), "");

  auto error = [](std::string_view line) {
    try {
      parse_takeover_line(line);
    } catch (const TakeoverError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_THAT(error(R"({"v":2,"op":"hello"})"), HasSubstr("protocol version 2 is not spoken here"));
  EXPECT_THAT(error(R"({"op":"hello"})"), HasSubstr("no protocol version"));
  EXPECT_THAT(error(R"({"v":1,"op":"reboot"})"), HasSubstr("unknown op"));
  EXPECT_THAT(error(R"({"v":1})"), HasSubstr("no \"op\""));
  EXPECT_THAT(error("[1,2]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(error("hello"), HasSubstr("not a JSON object"));
}

struct Pair {
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a = std::make_unique<TakeoverChannel>(core::UniqueFd(fds[0]));
    b = std::make_unique<TakeoverChannel>(core::UniqueFd(fds[1]));
  }
  std::unique_ptr<TakeoverChannel> a, b;
};

auto soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(5);
}

TEST(TakeoverProtocolTest, SocketsTravelWithTheLineThatAnnouncesThem) {
  Pair p;
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  core::UniqueFd r(pipe_fds[0]), w(pipe_fds[1]);
  std::vector<int> two{r.get(), w.get()};
  boost::json::object fields;
  fields["count"] = 2;
  p.a->send("sockets", fields, two);
  p.a->send("ready");
  auto m = p.b->receive(soon());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op, "sockets");
  auto fds = p.b->take_fds(m->number("count"));
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_EQ(p.b->pending_fds(), 0u);
  EXPECT_THROW(p.b->take_fds(1), TakeoverError);
  m = p.b->receive(soon());
  ASSERT_TRUE(m);
  EXPECT_EQ(m->op, "ready");
  p.a.reset();
  EXPECT_FALSE(p.b->receive(soon())) << "end of stream";
}

TEST(TakeoverProtocolTest, OverlongLinesAndTimeoutsEndTheConnection) {
  Pair p;
  EXPECT_THROW(p.b->receive(std::chrono::steady_clock::now() + std::chrono::milliseconds(30)), TakeoverError);
  std::string big(kMaxTakeoverLine + 10, 'x');
  std::thread writer([&] { ::send(p.a->fd(), big.data(), big.size(), MSG_NOSIGNAL); });
  try {
    p.b->receive(soon());
    ADD_FAILURE() << "expected an error";
  } catch (const TakeoverError& e) {
    EXPECT_THAT(e.what(), HasSubstr("longer than"));
  }
  p.b.reset();
  writer.join();
}

// A takeover socket path in a fresh folder.
class TakeoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "basalt-takeover-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "run" / "takeover.sock").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Hooks of a pretend proxy with `count` listening sockets (pipes stand in).
  TakeoverServer::Hooks hooks(std::size_t count) {
    return {.sockets =
                [this, count] {
                  std::vector<core::UniqueFd> out;
                  if (draining_) return out;
                  for (std::size_t i = 0; i < count; ++i)
                    out.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
                  return out;
                },
            .handover =
                [this](pid_t pid) {
                  handed_to_ = pid;
                  draining_ = true;
                },
            .open_connections = [this] { return open_.load(); },
            .close_now = [this] { closed_now_ = true; }};
  }

  // A raw client: sends `data`, returns the first line answered.
  std::string exchange(const std::string& data) {
    core::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path_.c_str());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "<no connection>";
    ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    std::string line;
    char c;
    pollfd pfd{fd.get(), POLLIN, 0};
    while (::poll(&pfd, 1, 5000) == 1 && ::recv(fd.get(), &c, 1, 0) == 1 && c != '\n') line += c;
    return line;
  }

  fs::path dir_;
  std::string path_;
  std::atomic<bool> draining_{false};
  std::atomic<pid_t> handed_to_{0};
  std::atomic<std::size_t> open_{3};
  std::atomic<bool> closed_now_{false};
};

TEST_F(TakeoverTest, ASuccessorReceivesEverySocketThenTheOldOneDrainsAndReports) {
  auto server = std::make_unique<TakeoverServer>(path_, hooks(150));  // three `sockets` lines
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto predecessor = Predecessor::connect(path_);
  ASSERT_TRUE(predecessor);
  EXPECT_EQ(predecessor->pid(), ::getpid());
  auto sockets = predecessor->take_sockets();
  EXPECT_EQ(sockets.size(), 150u);
  for (const auto& s : sockets) EXPECT_EQ(::fcntl(s.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(handed_to_.load(), 0) << "nothing changes before drain";

  EXPECT_EQ(predecessor->drain(), 3u);
  EXPECT_EQ(handed_to_.load(), ::getpid());
  EXPECT_FALSE(fs::exists(path_)) << "the old process gave up the path";
  open_ = 1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (predecessor->draining_connections() != 1u && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(predecessor->draining_connections(), 1u) << "status lines follow the drain";

  // A third generation's handover: close now; the old one goes.
  std::thread exiting([&] {
    while (!closed_now_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.reset();
  });
  EXPECT_TRUE(predecessor->close_now(std::chrono::seconds(5)));
  exiting.join();
  EXPECT_EQ(predecessor->draining_connections(), std::nullopt);
}

TEST_F(TakeoverTest, GarbageGetsAnErrorAndChangesNothing) {
  TakeoverServer server(path_, hooks(2));
  EXPECT_THAT(exchange("hello\n"), HasSubstr(R"("op":"error")"));
  EXPECT_THAT(exchange(R"({"v":9,"op":"hello","pid":1})"
                       "\n"),
              HasSubstr("protocol version 9"));
  EXPECT_THAT(exchange(R"({"v":1,"op":"drain"})"
                       "\n"),
              HasSubstr("expected hello"));
  EXPECT_THAT(exchange(R"({"v":1,"op":"hello","pid":0})"
                       "\n"),
              HasSubstr("bad pid"));
  EXPECT_THAT(exchange(std::string(kMaxTakeoverLine + 100, 'x')), HasSubstr("longer than"));
  // A client that takes the sockets and goes away changes nothing either.
  EXPECT_THAT(exchange(R"({"v":1,"op":"hello","pid":7})"
                       "\n"),
              HasSubstr(R"("op":"sockets")"));
  EXPECT_EQ(handed_to_.load(), 0);
  EXPECT_TRUE(fs::exists(path_));
  // The server sees that client go when its EOF is read: until then a new
  // one is told another takeover is in progress.
  std::unique_ptr<Predecessor> predecessor;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!predecessor && std::chrono::steady_clock::now() < deadline) {
    try {
      predecessor = Predecessor::connect(path_);
    } catch (const TakeoverError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ASSERT_TRUE(predecessor);
  EXPECT_EQ(predecessor->take_sockets().size(), 2u);
}

TEST_F(TakeoverTest, OneTakeoverAtATime) {
  TakeoverServer server(path_, hooks(1));
  auto first = Predecessor::connect(path_);
  ASSERT_TRUE(first);
  EXPECT_THAT(exchange(R"({"v":1,"op":"hello","pid":7})"
                       "\n"),
              HasSubstr("another takeover is in progress"));
  first.reset();  // abandoned: the next one may try
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::unique_ptr<Predecessor> second;
  while (!second && std::chrono::steady_clock::now() < deadline) {
    try {
      second = Predecessor::connect(path_);
    } catch (const TakeoverError&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_TRUE(second);
}

TEST_F(TakeoverTest, ADrainingProcessHandsOverNothing) {
  TakeoverServer server(path_, hooks(1));
  draining_ = true;
  try {
    Predecessor::connect(path_);
    ADD_FAILURE() << "expected a refusal";
  } catch (const TakeoverError& e) {
    EXPECT_THAT(e.what(), HasSubstr("draining"));
  }
  server.stop_listening();
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_EQ(Predecessor::connect(path_), nullptr) << "nothing listens: start fresh";
}

TEST_F(TakeoverTest, ALiveSocketPathIsAnErrorAStaleOneIsReplaced) {
  {
    TakeoverServer first(path_, hooks(1));
    try {
      TakeoverServer second(path_, hooks(1));
      ADD_FAILURE() << "expected an error";
    } catch (const std::system_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("another basalt-proxy listens on it"));
    }
  }
  // A socket file left behind by a process that died.
  core::UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path_.c_str());
  ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  stale.reset();
  EXPECT_NO_THROW(TakeoverServer(path_, hooks(1)));
  std::ofstream(dir_ / "file") << "x";
  EXPECT_THROW(TakeoverServer((dir_ / "file").string(), hooks(1)), std::system_error);
}

}  // namespace
}  // namespace basalt::proxy
