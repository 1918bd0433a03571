#include "basalt/core/fd_passing.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <cstring>
#include <string>
#include <thread>

namespace basalt::core {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
  UniqueFd a, b;
};

struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
  UniqueFd read, write;
};

std::size_t open_fds() {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (auto* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

std::string read_exactly(int fd, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

TEST(FdPassingTest, DescriptorsArriveWithTheirBytesAndWorkInTheReceiver) {
  SocketPair s;
  Pipe p1, p2;
  std::array<int, 2> sent{p1.write.get(), p2.write.get()};
  send_with_fds(s.a.get(), "two\n", sent);
  send_with_fds(s.a.get(), "none\n");

  std::vector<UniqueFd> fds;
  char buf[64];
  std::string bytes;
  while (bytes.size() < 9) {
    auto n = receive_with_fds(s.b.get(), buf, fds);
    ASSERT_GT(n, 0u);
    bytes.append(buf, n);
  }
  EXPECT_EQ(bytes, "two\nnone\n");
  ASSERT_EQ(fds.size(), 2u);
  for (auto& fd : fds) {
    EXPECT_NE(fd.get(), p1.write.get());
    EXPECT_EQ(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC) << "received descriptors are O_CLOEXEC";
  }
  // The copies reach the same pipes, in order, also after the sender closed its own.
  p1.write.reset();
  ASSERT_EQ(::write(fds[0].get(), "1", 1), 1);
  ASSERT_EQ(::write(fds[1].get(), "2", 1), 1);
  EXPECT_EQ(read_exactly(p1.read.get(), 1), "1");
  EXPECT_EQ(read_exactly(p2.read.get(), 1), "2");
}

TEST(FdPassingTest, AReceiveNeverReadsPastTheSendThatCarriesDescriptors) {
  SocketPair s;
  Pipe p;
  send_with_fds(s.a.get(), "first\n");
  std::array<int, 1> one{p.write.get()};
  send_with_fds(s.a.get(), "second\n", one);
  send_with_fds(s.a.get(), "third\n", one);
  std::vector<UniqueFd> fds;
  char buf[256];
  std::string bytes;
  // Whatever the reads return, each carries at most one send's descriptors.
  while (bytes.size() < 19) {
    auto before = fds.size();
    auto n = receive_with_fds(s.b.get(), buf, fds);
    ASSERT_GT(n, 0u);
    EXPECT_LE(fds.size() - before, 1u);
    bytes.append(buf, n);
  }
  EXPECT_EQ(bytes, "first\nsecond\nthird\n");
  EXPECT_EQ(fds.size(), 2u);
}

TEST(FdPassingTest, LargeDataIsSentInFullWithTheDescriptorsOnItsFirstByte) {
  SocketPair s;
  Pipe p;
  std::string big(1 << 20, 'x');
  big.back() = '\n';
  std::thread sender([&] {
    std::array<int, 1> one{p.write.get()};
    send_with_fds(s.a.get(), big, one);
  });
  std::vector<UniqueFd> fds;
  std::string got;
  std::vector<char> buf(64 * 1024);
  while (got.size() < big.size()) {
    auto n = receive_with_fds(s.b.get(), buf, fds);
    ASSERT_GT(n, 0u);
    if (got.empty()) {
      EXPECT_EQ(fds.size(), 1u) << "the first read carries the descriptor";
    }
    got.append(buf.data(), n);
  }
  sender.join();
  EXPECT_EQ(got, big);
  EXPECT_EQ(fds.size(), 1u);
}

TEST(FdPassingTest, TooManyDescriptorsAreRefusedOnBothSidesWithoutLeaks) {
  SocketPair s;
  Pipe p;
  std::vector<int> many(kMaxFdsPerSend + 1, p.write.get());
  EXPECT_THROW(send_with_fds(s.a.get(), "x", many), std::invalid_argument);
  EXPECT_THROW(send_with_fds(s.a.get(), "", {}), std::invalid_argument);

  // A sender that ignores the limit: the receiver closes what arrived and throws.
  const std::size_t before = open_fds();
  constexpr std::size_t kSent = kMaxFdsPerSend + 20;
  union {
    char bytes[CMSG_SPACE(sizeof(int) * kSent)];
    cmsghdr align;
  } control{};
  std::vector<int> raw(kSent, p.write.get());
  char byte = 'x';
  iovec iov{&byte, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * kSent);
  std::memcpy(CMSG_DATA(c), raw.data(), sizeof(int) * kSent);
  ASSERT_EQ(::sendmsg(s.a.get(), &msg, 0), 1);

  std::vector<UniqueFd> fds;
  char buf[8];
  try {
    receive_with_fds(s.b.get(), buf, fds);
    ADD_FAILURE() << "expected a truncation error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EMSGSIZE);
  }
  EXPECT_TRUE(fds.empty());
  EXPECT_EQ(open_fds(), before) << "the descriptors that did arrive are closed";
}

TEST(FdPassingTest, EndOfStreamIsZeroAndATimeoutThrows) {
  SocketPair s;
  timeval tv{.tv_sec = 0, .tv_usec = 50'000};
  ASSERT_EQ(::setsockopt(s.b.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  std::vector<UniqueFd> fds;
  char buf[8];
  EXPECT_THROW(receive_with_fds(s.b.get(), buf, fds), std::system_error);
  s.a.reset();
  EXPECT_EQ(receive_with_fds(s.b.get(), buf, fds), 0u);
  // Writing to a closed peer fails without SIGPIPE.
  EXPECT_THROW(send_with_fds(s.b.get(), "x"), std::system_error);
}

}  // namespace
}  // namespace basalt::core
