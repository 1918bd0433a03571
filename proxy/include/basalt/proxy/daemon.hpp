// `basalt-proxy serve` as a library: the proxy from a config file, plus what
// every basalt daemon has: Prometheus /metrics (`metrics: {listen}`), the
// management socket, SIGHUP to re-read the file, SIGTERM/SIGINT to drain
// (gracefulShutdownTimeout) and exit, and, started as root with `user`,
// dropping privileges after the ports are bound.
//
// Restarts without a refused connection (docs/proxy.md, "Reloads, takeover
// and drain"): the daemon listens on its takeover socket; a daemon started
// with `takeover` receives the running one's listening sockets there,
// accepts on them, then makes the old one stop accepting and drain
// (drainTimeout). SIGUSR2 starts such a successor from the running daemon
// (`successor_command`). Both tell a service manager when they serve
// ($NOTIFY_SOCKET: READY=1, and MAINPID= from a successor).
//
//   proxy::Daemon daemon({.config_file = "proxy.yaml"});   // loads and validates
//   return daemon.run();                                    // until SIGTERM or `stop`
//
// Failures: the constructor throws core::config::Error whose path starts
// with the file name; run() throws std::system_error when a port or the
// management socket cannot be bound.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "basalt/core/log.hpp"
#include "basalt/proxy/options.hpp"

namespace basalt::proxy {

// Reads and decodes a YAML or JSON options file; relative paths in it
// resolve against the file's folder. Errors are prefixed with the file name
// ("proxy.yaml: routes[2].match.ports[1].to: 70000 is not a port (1-65535)").
ProxyOptions load_options_file(const std::string& path);

// The state directory when neither the file nor a flag gives one.
inline constexpr const char* kDefaultStateDir = "/var/lib/basalt-proxy";

class Daemon {
 public:
  struct Options {
    std::string config_file;
    std::optional<std::uint32_t> workers;  // --workers: wins over the file
    std::string state_dir;                 // --state-dir
    std::optional<core::LogLevel> log_level;
    std::string management_socket;  // --management-socket
    bool takeover = false;          // --takeover: take the sockets of the running daemon, if any
    // What SIGUSR2 starts: this program's command line with --takeover
    // (argv[0] an absolute path). Empty: SIGUSR2 is refused with a warning.
    std::vector<std::string> successor_command;
  };
  explicit Daemon(Options options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Starts everything and blocks until the proxy has stopped; returns the
  // process exit code (0 after a drain).
  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::proxy
