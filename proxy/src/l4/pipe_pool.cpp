#include "l4/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace basalt::proxy {

PipePool::~PipePool() {
  for (auto p : idle_) close(p);
}

PipePool::Pipe PipePool::take() noexcept {
  if (!idle_.empty()) {
    auto p = idle_.back();
    idle_.pop_back();
    return p;
  }
  if (open_ >= max_pipes_) {
    ++exhausted_;
    return {};
  }
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    ++exhausted_;
    return {};
  }
  ++open_;
  return {fds[0], fds[1]};
}

void PipePool::give_back(Pipe pipe) noexcept {
  if (!pipe.valid()) return;
  if (idle_.size() < max_idle_) {
    idle_.push_back(pipe);
    return;
  }
  close(pipe);
}

void PipePool::discard(Pipe pipe) noexcept {
  if (pipe.valid()) close(pipe);
}

void PipePool::close(Pipe pipe) noexcept {
  ::close(pipe.read_fd);
  ::close(pipe.write_fd);
  --open_;
}

}  // namespace basalt::proxy
