#include "basalt/testing/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace basalt::testing {
namespace {

using Clock = std::chrono::steady_clock;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

Process::Process(Options options) {
  if (options.argv.empty()) throw std::invalid_argument("Process: empty argv");
  int in[2], out[2], err[2] = {-1, -1};
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (options.capture_stderr && ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");

  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  for (auto& e : options.env) env_strings.push_back(e);
  std::vector<char*> envp, argv;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    if (err[1] >= 0) ::dup2(err[1], 2);
    // Nothing else of the test goes with the child: an inherited listening
    // socket would keep a stopped in-process server's port open.
    ::close_range(3, ~0U, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(argv[0], argv.data(), envp.data());
    std::string msg = std::string("exec ") + argv[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (err[1] >= 0) ::close(err[1]);
  stdin_ = in[1];
  stdout_ = out[0];
  stderr_ = err[0];
  ::signal(SIGPIPE, SIG_IGN);  // a child that died must not kill the test on write
}

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)),
      stdin_(std::exchange(o.stdin_, -1)),
      stdout_(std::exchange(o.stdout_, -1)),
      stderr_(std::exchange(o.stderr_, -1)),
      out_buffer_(std::move(o.out_buffer_)),
      err_buffer_(std::move(o.err_buffer_)),
      status_(o.status_) {}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
  }
  close_fd(stdin_);
  close_fd(stdout_);
  close_fd(stderr_);
}

bool Process::write(std::string_view data) {
  while (!data.empty()) {
    if (stdin_ < 0) return false;
    auto n = ::write(stdin_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void Process::close_stdin() {
  close_fd(stdin_);
}

std::optional<std::string> Process::read_line_from(int fd, std::string& buffer,
                                                   std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto nl = buffer.find('\n'); nl != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      return line;
    }
    if (fd < 0) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[65536];
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    buffer.append(buf, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds timeout) {
  return read_line_from(stdout_, out_buffer_, timeout);
}

std::string Process::drain(int& fd, std::string& buffer, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[65536];
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close_fd(fd);
      break;
    }
    buffer.append(buf, static_cast<std::size_t>(n));
  }
  return std::exchange(buffer, {});
}

std::string Process::read_all(std::chrono::milliseconds timeout) {
  return drain(stdout_, out_buffer_, timeout);
}
std::string Process::read_all_stderr(std::chrono::milliseconds timeout) {
  return drain(stderr_, err_buffer_, timeout);
}

void Process::signal(int signo) {
  if (pid_ > 0 && !status_) ::kill(pid_, signo);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    auto r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool Process::running() {
  return !wait(std::chrono::milliseconds(0)).has_value();
}

RunResult run(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  Process p({.argv = argv, .capture_stderr = true});
  p.close_stdin();
  RunResult r{};
  // Read both pipes until the child exits, so neither can fill up and block it.
  while (p.running()) {
    r.out += p.read_all(std::chrono::milliseconds(20));
    r.err += p.read_all_stderr(std::chrono::milliseconds(1));
    if (Clock::now() > deadline) throw std::runtime_error("timed out: " + argv[0]);
  }
  r.out += p.read_all(std::chrono::milliseconds(100));
  r.err += p.read_all_stderr(std::chrono::milliseconds(100));
  r.exit_code = *p.wait();
  return r;
}

}  // namespace basalt::testing
