// Graceful shutdown: on SIGINT/SIGTERM (or a management `stop`), stop taking
// new work, let in-flight work finish for up to a drain timeout, then stop the
// Runtime.
//
// Listeners register on_begin() callbacks that close their acceptors and
// sockets; connections and queries hold a Shutdown::Token while they run. When
// the last token is released (or the drain timeout expires, whichever comes
// first), the runtime is stopped. A second signal stops at once.
//
// Lifetime: must outlive the runtime's threads. Thread-safety: begin(),
// hold() and tokens may be used from any thread; on_begin() callbacks run on
// the runtime's control context.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace basalt::core {

class Runtime;

class Shutdown {
 public:
  Shutdown(Runtime& runtime, std::chrono::milliseconds drain_timeout);
  ~Shutdown();
  Shutdown(const Shutdown&) = delete;
  Shutdown& operator=(const Shutdown&) = delete;

  // Begin shutdown when SIGINT or SIGTERM arrives.
  void watch_signals();

  // Called (on the control context, in registration order) when shutdown begins.
  void on_begin(std::function<void()> callback);

  // Starts the shutdown sequence; idempotent. `drain` replaces the drain
  // timeout given at construction for this shutdown.
  void begin(std::string reason, std::optional<std::chrono::milliseconds> drain = std::nullopt);

  bool draining() const { return draining_.load(std::memory_order_acquire); }

  // Marks work in flight. Shutdown waits for every token before stopping.
  class Token {
   public:
    Token() = default;
    Token(Token&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Token& operator=(Token&& other) noexcept;
    ~Token();

   private:
    friend class Shutdown;
    explicit Token(Shutdown* owner) : owner_(owner) {}
    Shutdown* owner_ = nullptr;
  };
  Token hold();

  std::size_t in_flight() const { return in_flight_.load(std::memory_order_acquire); }

 private:
  struct State;
  void wait_for_signal();
  void release();
  void finish_if_drained();

  Runtime& runtime_;
  std::chrono::milliseconds drain_timeout_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::unique_ptr<State> state_;
};

}  // namespace basalt::core
