// An owned file descriptor: closed when destroyed, movable, not copyable.
//
// Use it wherever a raw descriptor changes hands (received over a Unix
// socket, duplicated for another process, adopted by a socket object), so
// that no early return or exception leaks it.
//
//   core::UniqueFd fd(::dup(listener));
//   if (!fd) throw ...;
//   acceptor.assign(protocol, fd.release());   // ownership moves on
//
// Thread-safety: none of its own (like a plain int).
#pragma once

#include <unistd.h>

#include <utility>

namespace basalt::core {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  // Gives up ownership: the caller closes the descriptor.
  int release() noexcept { return std::exchange(fd_, -1); }
  // Closes the descriptor held (Linux releases it even when close() reports
  // EINTR, so it is never retried) and holds `fd` instead.
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace basalt::core
