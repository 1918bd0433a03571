// What an accept loop does when accept() fails. Out of file descriptors or
// kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) is not fixed by calling
// accept() again at once: the connection stays in the backlog and the loop
// would spin. AcceptPause tells the loop how long to pause instead (10 ms,
// doubling while the failures go on, at most 1 s) and logs the condition at
// most once per interval, with the number of failures since the last line.
// Other errors (a client that reset before we accepted it) pause nothing.
//
// One per accept loop; not thread-safe (a loop runs on one thread).
#pragma once

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace basalt::core {

class AcceptPause {
 public:
  // `listener` names the loop in the log line ("dns tcp 127.0.0.1:53").
  explicit AcceptPause(std::string listener, std::chrono::seconds log_interval = std::chrono::seconds(60));

  // After a failed accept: how long to wait before accepting again (zero:
  // go on at once). Logs as described above.
  std::chrono::milliseconds after_error(const boost::system::error_code& ec);
  // After a successful accept: the next failure starts again from 10 ms.
  void after_success() noexcept { delay_ = std::chrono::milliseconds(0); }

  // Whether `ec` means the process or system is out of descriptors or memory.
  static bool exhausted(const boost::system::error_code& ec) noexcept;

  std::size_t failures() const noexcept { return failures_; }  // resource failures so far

 private:
  std::string listener_;
  std::chrono::seconds log_interval_;
  std::chrono::milliseconds delay_{0};
  std::chrono::steady_clock::time_point last_log_{};
  std::size_t failures_ = 0;
  std::size_t unlogged_ = 0;
};

}  // namespace basalt::core
