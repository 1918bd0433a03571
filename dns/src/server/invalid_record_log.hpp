// Records handlers return that cannot be served (bad RDATA, or in engine
// mode a dnsQueryResult answer that does not parse): they are left out of
// the answer, counted, and logged once per distinct (source, owner, type,
// reason), at most kMaxLogged of them, so a handler that keeps returning bad
// data cannot flood the log. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace basalt::dns {

class InvalidRecordLog {
 public:
  static constexpr std::size_t kMaxLogged = 1024;

  // `source` says which handlers ("the handlers of *.dyn.example.test"),
  // `reason` what is wrong ("data: 'x' is not an IPv4 address").
  void report(std::string_view source, std::string_view owner, std::string_view type,
              std::string_view reason);
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> count_{0};
  std::mutex mutex_;  // logged_
  std::unordered_set<std::string> logged_;
};

}  // namespace basalt::dns
