// What the basalt-proxy integration tests share: the daemon started from a
// YAML config in a temp dir (with a management socket), an nginx backend
// (HTTP and HTTPS), a small in-process TCP backend with scripted behaviour,
// raw client sockets bound to chosen loopback addresses, and certificates.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "basalt/testing/environment.hpp"
#include "basalt/testing/process.hpp"

namespace basalt::proxy_test {

using testing::Process;
using testing::TempDir;

// Writes a self-signed certificate for `names` (plus 127.0.0.1) as
// <dir>/<stem>.pem and <dir>/<stem>.key.
void write_certificate(const TempDir& dir, const std::string& stem, const std::vector<std::string>& names);

// True once a TCP connect to 127.0.0.1:port succeeds (within 10 s).
bool wait_listening(std::uint16_t port);

// basalt-proxy serve on a config written from `yaml`.
class ProxyDaemon {
 public:
  ProxyDaemon(const TempDir& dir, const std::string& yaml, std::uint16_t wait_port, int workers = 2);
  ~ProxyDaemon();
  ProxyDaemon(const ProxyDaemon&) = delete;
  ProxyDaemon& operator=(const ProxyDaemon&) = delete;

  bool ready() const { return ready_; }
  std::string socket() const { return socket_; }
  std::string config_path() const { return config_; }
  boost::json::value call(const std::string& method, const boost::json::object& params = {});
  // The error text of a call that must fail ("" if it succeeded).
  std::string call_error(const std::string& method, const boost::json::object& params = {});
  Process& process() { return *process_; }
  // SIGTERM, then the exit code.
  std::optional<int> stop();
  std::string log();

 private:
  std::string config_;
  std::string socket_;
  std::string log_file_;
  std::optional<Process> process_;
  bool ready_ = false;
};

// One connection to a daemon's management socket that stays open, as a
// driver's does: it sees the events the daemon sends to every client
// (core::management::Client skips them) and can send requests meanwhile.
// Events are kept in arrival order until a wait takes them. Not thread-safe.
class ManagementConnection {
 public:
  // Connects and waits up to `timeout` for the `ready` event; see connected().
  explicit ManagementConnection(const std::string& socket_path,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~ManagementConnection();
  ManagementConnection(const ManagementConnection&) = delete;
  ManagementConnection& operator=(const ManagementConnection&) = delete;

  // True once `ready` arrived (else why not: error()).
  bool connected() const { return ready_; }
  const std::string& error() const { return error_; }
  // Sends {"id", "method", "params"} and returns the answer line with that
  // id ({"id", "success": true, "result"} or {..., "success": false,
  // "error"}); {} when none comes within `timeout` or the daemon closes.
  boost::json::object request(const std::string& method, const boost::json::object& params = {},
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Takes the first event called `name` whose data satisfies `match` (any,
  // when empty), waiting up to `timeout` for it to arrive; its data.
  std::optional<boost::json::object> wait_event(
      const std::string& name, const std::function<bool(const boost::json::object&)>& match = {},
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // The events not taken yet, {"event", "data"} objects, including those
  // that have arrived by now.
  std::vector<boost::json::object> events();

 private:
  // Reads lines until one arrives (kept as an event or an answer) or
  // `deadline` passes; false on timeout or when the daemon closed.
  bool read_line(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool ready_ = false;
  std::string error_;
  std::string buffer_;
  std::vector<boost::json::object> events_;
  std::vector<boost::json::object> answers_;
  unsigned next_id_ = 1;
};

// nginx with one plain HTTP server and, when `tls_stem` is set, one HTTPS
// server (h2 enabled) with <dir>/<tls_stem>.pem; both serve /hello.txt
// ("hello from nginx <name>") and /big.bin (`big_bytes` bytes).
class NginxBackend {
 public:
  NginxBackend(const TempDir& dir, const std::string& name, const std::string& tls_stem = "",
               std::size_t big_bytes = 1 << 20);
  ~NginxBackend();
  NginxBackend(const NginxBackend&) = delete;
  NginxBackend& operator=(const NginxBackend&) = delete;
  bool ready() const { return ready_; }
  std::uint16_t http_port() const { return http_port_; }
  std::uint16_t https_port() const { return https_port_; }

 private:
  std::string prefix_;
  std::uint16_t http_port_ = 0;
  std::uint16_t https_port_ = 0;
  std::optional<Process> process_;
  bool ready_ = false;
};

// An in-process TCP server on 127.0.0.1 with one behaviour per connection:
// kEcho (bytes back, then close after the client's FIN), kBannerFirst
// ("220 banner\r\n" at once, then echo), kHalfClose (read to EOF, then send
// "got <n> bytes" and close), kSilent (accept, read, never answer).
class ScriptedBackend {
 public:
  enum class Mode { kEcho, kBannerFirst, kHalfClose, kSilent };
  // Listens on `address`:`port` (0: any free port).
  explicit ScriptedBackend(Mode mode, const std::string& address = "127.0.0.1", std::uint16_t port = 0);
  ~ScriptedBackend();
  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void serve(int fd);
  Mode mode_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
};

// A blocking client socket to 127.0.0.1:port (from `source`, a loopback
// address such as "127.0.0.2" or "::1" with port to [::1]); -1 on failure.
int connect_to(std::uint16_t port, const std::string& source = "127.0.0.1",
               const std::string& to = "127.0.0.1");
bool send_all(int fd, const std::string& data);
// Reads until EOF, `want` bytes, or the timeout; what arrived.
std::string read_some_until(int fd, std::size_t want,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
// True when the peer closes (EOF or reset) within the timeout without sending data.
bool closed_by_peer(int fd, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// curl with the given arguments; {exit code, stdout}.
testing::RunResult curl(std::vector<std::string> args);

// Polls `condition` every 20 ms for up to `timeout`.
template <class F>
bool eventually(F&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace basalt::proxy_test

namespace basalt::proxy_test {

// An in-process HTTP backend (basalt's own http::Server, cleartext HTTP/1.1
// and h2c) on 127.0.0.1 with one worker. Paths:
//   /name            "backend <name>"
//   /headers         the request's method, target, Host and header fields, one per line
//   /echo            the request body streamed back (with its trailers)
//   /status/<code>   that status, body "status <code>"
//   /slow/<ms>       answers after <ms> milliseconds
//   /die             sends the head and 10 bytes of 100, then resets
// Anything else: "backend <name> <path>". Counts requests.
class HttpBackend {
 public:
  // `idle_timeout`: how long the backend keeps an idle keep-alive connection.
  explicit HttpBackend(std::string name, std::uint16_t port = 0,
                       std::chrono::milliseconds idle_timeout = std::chrono::seconds(60));
  ~HttpBackend();
  HttpBackend(const HttpBackend&) = delete;
  HttpBackend& operator=(const HttpBackend&) = delete;
  std::uint16_t port() const { return port_; }
  int requests() const { return requests_->load(); }
  // Stops listening and closes every connection (a backend going down).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
  std::shared_ptr<std::atomic<int>> requests_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace basalt::proxy_test
