// `basalt-proxy serve` as a library: the proxy from a config file, plus what
// every basalt daemon has: Prometheus /metrics (`metrics: {listen}`), the
// management socket, SIGHUP to re-read the file, SIGTERM/SIGINT to drain
// (gracefulShutdownTimeout) and exit, and, started as root with `user`,
// dropping privileges after the ports are bound.
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
