#include "basalt/core/fd_passing.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace basalt::core {

namespace {

// Control buffer for kMaxFdsPerSend descriptors, aligned as cmsghdr wants.
union ControlBuffer {
  char bytes[CMSG_SPACE(sizeof(int) * kMaxFdsPerSend)];
  cmsghdr align;
};

[[noreturn]] void fail(int err, const char* what) {
  throw std::system_error(err, std::system_category(), what);
}

}  // namespace

void send_with_fds(int socket, std::string_view data, std::span<const int> fds) {
  if (data.empty())
    throw std::invalid_argument("send_with_fds: descriptors need at least one byte to travel with");
  if (fds.size() > kMaxFdsPerSend)
    throw std::invalid_argument("send_with_fds: too many descriptors for one send");
  ControlBuffer control{};
  std::size_t sent = 0;
  bool attach = !fds.empty();
  while (sent < data.size()) {
    iovec iov{const_cast<char*>(data.data() + sent), data.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (attach) {
      msg.msg_control = control.bytes;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, attach ? "sending descriptors" : "sending");
    }
    // The descriptors went with the first byte written.
    if (n > 0) attach = false;
    sent += static_cast<std::size_t>(n);
  }
}

std::size_t receive_with_fds(int socket, std::span<char> buffer, std::vector<UniqueFd>& fds) {
  if (buffer.empty()) throw std::invalid_argument("receive_with_fds: empty buffer");
  ControlBuffer control{};
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  ssize_t n = 0;
  for (;;) {
    msg = msghdr{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (n >= 0) break;
    if (errno != EINTR) fail(errno, "receiving");
  }
  // Take ownership of whatever arrived before judging the message.
  std::vector<UniqueFd> received;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      received.emplace_back(fd);
    }
  }
  if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
    fail(EMSGSIZE, msg.msg_flags & MSG_CTRUNC ? "receiving descriptors: more than the limit were sent"
                                              : "receiving: message truncated");
  }
  for (auto& fd : received) fds.push_back(std::move(fd));
  return static_cast<std::size_t>(n);
}

}  // namespace basalt::core
