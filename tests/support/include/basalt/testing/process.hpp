// A child process for integration tests: our daemons and real peers (dig,
// kdig, openssl, ...) started with pipes on stdin/stdout, read line by line
// with timeouts, signalled and reaped. Never leaves a process behind: the
// destructor kills and reaps a child that is still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::testing {

class Process {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
    std::vector<std::string> env;   // extra "NAME=value" entries
    bool capture_stderr = false;    // else stderr is inherited (shows in test logs)
  };

  // Throws std::runtime_error if the program cannot be started.
  explicit Process(Options options);
  ~Process();
  Process(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Writes all of `data` to the child's stdin; false if the pipe is closed.
  bool write(std::string_view data);
  void close_stdin();

  // The next line of stdout without its '\n', or nullopt on timeout or EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Everything left on stdout (or stderr when captured) until EOF or timeout.
  std::string read_all(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string read_all_stderr(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  void signal(int signo);
  // The exit code, 128 + signal for a signalled child, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool running();

 private:
  std::optional<std::string> read_line_from(int fd, std::string& buffer, std::chrono::milliseconds timeout);
  std::string drain(int& fd, std::string& buffer, std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int stderr_ = -1;
  std::string out_buffer_;
  std::string err_buffer_;
  std::optional<int> status_;
};

// Runs a command to completion: {exit code, stdout}. Throws on timeout.
struct RunResult {
  int exit_code;
  std::string out;
  std::string err;
};
RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace basalt::testing
