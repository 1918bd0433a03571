// Pipes for splice(2), kept per worker and handed out while bytes are in
// flight.
//
// A plain-to-plain relay moves bytes socket -> pipe -> socket without copying
// them through user space. A pipe is needed only while a chunk is between the
// two splices, so a relay takes one when bytes arrive and gives it back as
// soon as it is empty: an idle connection holds no pipe, and the number of
// pipes open is bounded by `max_pipes` (each is two descriptors and up to
// 64 KiB of kernel memory). When the pool is at its bound, take() returns an
// invalid pipe and the relay copies through a buffer instead (counted in
// exhausted()).
//
// Not thread-safe: one pool per worker thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace basalt::proxy {

class PipePool {
 public:
  struct Pipe {
    int read_fd = -1;
    int write_fd = -1;
    bool valid() const noexcept { return read_fd >= 0; }
  };

  explicit PipePool(std::size_t max_pipes = 4096, std::size_t max_idle = 256)
      : max_pipes_(max_pipes), max_idle_(max_idle) {}
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  // A pipe from the idle list or a new one; invalid when max_pipes are open
  // or pipe2() fails.
  Pipe take() noexcept;
  // Returns an empty pipe to the idle list (closed when the list is full).
  void give_back(Pipe pipe) noexcept;
  // Closes a pipe that may still hold bytes (the relay ended mid-chunk).
  void discard(Pipe pipe) noexcept;

  std::size_t open() const noexcept { return open_; }
  std::size_t idle() const noexcept { return idle_.size(); }
  std::uint64_t exhausted() const noexcept { return exhausted_; }

 private:
  void close(Pipe pipe) noexcept;
  std::size_t max_pipes_;
  std::size_t max_idle_;
  std::size_t open_ = 0;
  std::uint64_t exhausted_ = 0;
  std::vector<Pipe> idle_;
};

}  // namespace basalt::proxy
