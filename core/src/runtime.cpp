#include "basalt/core/runtime.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

namespace basalt::core {

namespace {
// io_context with its (protected) shutdown() reachable, so that every context
// can be shut down before any is destroyed; see ~Runtime().
struct IoContext : boost::asio::io_context {
  IoContext() : boost::asio::io_context(1) {}  // one thread per context: Asio may skip locking
  using boost::asio::io_context::shutdown;
};
}  // namespace

struct Runtime::Context {
  IoContext io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard{
      io.get_executor()};
};

namespace {
void run_context(boost::asio::io_context& io, const char* what) {
  // A handler that escapes its own catch is a bug; log it and keep serving
  // the other connections on this thread.
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      spdlog::error("{}: unhandled exception in event loop: {}", what, e.what());
    }
  }
}
}  // namespace

Runtime::Runtime(Options options) {
  std::size_t n = options.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<Context>());
  control_ = std::make_unique<Context>();
}

Runtime::~Runtime() {
  shutdown();
}

void Runtime::shutdown() {
  stop();
  join();
  // Pending handlers of one worker may own sockets of another. Shutting every
  // context down first destroys those handlers while all contexts still
  // exist; destroying the contexts one by one would not. (Asio's shutdown
  // may run again: the queues are empty then.)
  for (auto& w : workers_) w->io.shutdown();
  control_->io.shutdown();
}

boost::asio::io_context& Runtime::worker(std::size_t index) {
  return workers_.at(index)->io;
}
boost::asio::io_context& Runtime::control() {
  return control_->io;
}

void Runtime::start() {
  for (auto& w : workers_) threads_.emplace_back([&io = w->io] { run_context(io, "worker"); });
  threads_.emplace_back([&io = control_->io] { run_context(io, "control"); });
}

void Runtime::run() {
  for (auto& w : workers_) threads_.emplace_back([&io = w->io] { run_context(io, "worker"); });
  run_context(control_->io, "control");
  join();
}

void Runtime::stop() {
  for (auto& w : workers_) w->io.stop();
  control_->io.stop();
}

void Runtime::join() {
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // join() from inside a worker: that thread ends on its own
    } else {
      t.join();
    }
  }
  threads_.clear();
}

bool Runtime::stopped() const {
  for (auto& w : workers_) {
    if (!w->io.stopped()) return false;
  }
  return control_->io.stopped();
}

}  // namespace basalt::core
