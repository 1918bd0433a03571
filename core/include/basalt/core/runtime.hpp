// The io runtime: N worker threads, each running its own io_context.
//
// Every daemon owns one Runtime. Data-plane work is spread over the workers
// (one listener socket per worker with SO_REUSEPORT, see socket.hpp), so a
// connection or packet is handled start to finish on one thread without
// locks. Control-plane work (management protocol, timers, certificate
// renewal) runs on control(), a separate io_context with its own thread, so a
// slow control operation never delays packets.
//
// Lifetime: construct, set up sockets and coroutines on the contexts, then
// either run() (blocks the caller) or start() (returns) followed later by
// stop() and join(). The destructor stops and joins.
// Thread-safety: stop() may be called from any thread, including a worker.
#pragma once

#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace basalt::core {

class Runtime {
 public:
  struct Options {
    std::size_t workers = 0;  // 0: one per hardware thread
  };

  explicit Runtime(Options options);
  Runtime() : Runtime(Options{}) {}
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  std::size_t workers() const { return workers_.size(); }
  boost::asio::io_context& worker(std::size_t index);
  boost::asio::io_context& control();

  // Starts one thread per worker plus the control thread and returns.
  void start();
  // Runs until stop(): the calling thread runs the control context.
  void run();
  // Asks every context to finish; safe from any thread, idempotent.
  void stop();
  // Waits for the threads started by start().
  void join();
  bool stopped() const;
  // Stops, joins, then destroys every handler and coroutine still pending on
  // the contexts (what a stop left unfinished, such as connections cut by a
  // drain timeout), so that what they hold is released while the objects
  // they refer to still exist. Call it before destroying what handlers use
  // (the destructor does it too, last). The contexts cannot run again.
  // Idempotent; not from a runtime thread.
  void shutdown();

 private:
  struct Context;
  std::vector<std::unique_ptr<Context>> workers_;
  std::unique_ptr<Context> control_;
  std::vector<std::thread> threads_;
};

}  // namespace basalt::core
