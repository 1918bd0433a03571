// Read-mostly shared state published as immutable snapshots.
//
// Use Snapshot<T> for state that many threads read on every packet or request
// and that changes rarely (zones, routes, handler tables, certificates): a
// writer builds a new T and publishes it atomically; readers see either the
// old or the new value, never a mix. Readers on a hot path keep a
// Snapshot<T>::Reader per thread, which costs one relaxed atomic load per
// access and never locks; the shared_ptr is re-fetched only after a publish.
//
// Thread-safety: publish(), update() and load() may be called from any thread.
// A Reader belongs to one thread. A value obtained from a Reader stays valid
// until that Reader's next get() (hold the shared_ptr from load() for longer).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace basalt::core {

template <class T>
class Snapshot {
 public:
  explicit Snapshot(std::shared_ptr<const T> initial = std::make_shared<const T>())
      : current_(std::move(initial)) {}

  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // The current value; the pointer keeps it alive for as long as it is held.
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(current_mutex_);
    return current_;
  }

  // Replaces the value. Readers see the new value on their next access.
  void publish(std::shared_ptr<const T> next) {
    std::lock_guard lock(writer_);
    store(std::move(next));
  }

  // Copy-modify-publish under the writer lock, so concurrent updates are not
  // lost. If `modify(T&)` throws, nothing is published and the exception
  // propagates: a failed update changes nothing.
  template <class F>
  void update(F&& modify) {
    std::lock_guard lock(writer_);
    auto next = std::make_shared<T>(*load());
    std::forward<F>(modify)(*next);
    store(std::move(next));
  }

  std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // A per-thread cached view for hot paths.
  class Reader {
   public:
    explicit Reader(const Snapshot& source) : source_(&source) {}
    const T& get() {
      auto v = source_->version_.load(std::memory_order_acquire);
      if (v != seen_ || !cached_) {
        cached_ = source_->load();
        seen_ = v;
      }
      return *cached_;
    }
    const T* operator->() { return &get(); }
    // The cached pointer itself, for work that must keep this version alive.
    const std::shared_ptr<const T>& current() {
      get();
      return cached_;
    }

   private:
    const Snapshot* source_;
    std::shared_ptr<const T> cached_;
    std::uint64_t seen_ = 0;
  };

 private:
  void store(std::shared_ptr<const T> next) {
    std::shared_ptr<const T> old;  // released outside the lock
    {
      std::lock_guard lock(current_mutex_);
      old = std::exchange(current_, std::move(next));
    }
    version_.fetch_add(1, std::memory_order_acq_rel);
  }

  mutable std::mutex current_mutex_;
  std::shared_ptr<const T> current_;
  std::atomic<std::uint64_t> version_{1};
  std::mutex writer_;
};

}  // namespace basalt::core
